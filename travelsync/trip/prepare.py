"""`prepare`, the day before: last full → laptop, mail keeps on the server, preflight, a plan.

Resumable: the step records its snapshot and displaced-folder stamp before it changes
anything, and each finished stage (restore, mail, preflight); after a crash the same
command continues with the same snapshot and skips what is done.
"""

from travelsync.clock import utc_stamp
from travelsync.errors import UsageError
from travelsync.restore.runner import resolve_snapshot
from travelsync.trip import state as trip_state
from travelsync.trip import steps
from travelsync.trip.restore_step import plan_stage, restore_once, run_stage
from travelsync.trip.report import preflight_warnings, step_report


def prepare(context, *, dry_run: bool = False) -> dict:
    """Run (or resume) prepare; return its report (design §2 shape plus mail, preflight, next)."""
    config = context.config
    document = trip_state.load(context.state_dir)
    trip_state.require(document, "prepare")
    interrupted = trip_state.resuming(document, "prepare")
    paths = list(config.laptop.paths)
    if not paths:
        raise UsageError("laptop.paths is empty: prepare has nothing to restore",
                         hint="list the folders to take along under laptop.paths, e.g. [home/Mail, home/src]")
    repository = context.repository
    if interrupted:
        snapshot_id, stamp, paths = interrupted["snapshot"], interrupted["stamp"], interrupted["paths"]
        context.info(f"resuming the interrupted prepare of {interrupted['started']} ({snapshot_id})")
    else:
        snapshot_id, stamp = resolve_snapshot(repository, "last-full").id, utc_stamp(context.now)
    warnings: list[str] = []
    plan = plan_stage(context, snapshot_id=snapshot_id, paths=paths, stamp=stamp, dry_run=dry_run)
    if dry_run:
        restore = run_stage(context, plan)
        mail = _mail_keep(context, warnings, dry_run=True)
        return step_report("prepare", document["state"], restore, warnings=warnings + restore["warnings"],
                           dry_run=True, mail=mail, next=plan_lines(config))
    references = list(document.get("protected_snapshots") or [])
    if not interrupted:
        _mail_keep(context, [], dry_run=True)  # a mail file travelsync would refuse: refuse now, change nothing
        if document["state"] in (trip_state.IDLE, trip_state.RETURNED):
            document = {**trip_state.empty(), "history": document.get("history", [])}
        document["protected_snapshots"] = list(dict.fromkeys(references + [snapshot_id]))
        trip_state.begin(context.state_dir, document, "prepare", context.now, snapshot=snapshot_id, stamp=stamp,
                         paths=paths)
    done = document["in_progress"]["stages"]
    restore = restore_once(context, document, plan, references=references, interrupted=bool(interrupted))
    if "mail" not in done:
        trip_state.stage_done(context.state_dir, document, "mail", _mail_keep(context, warnings, dry_run=False))
    mail = done["mail"]
    notes: list[str] = []
    checks = _preflight(context, warnings, notes)
    warnings = restore["warnings"] + warnings + preflight_warnings(checks)
    record = {"snapshot": snapshot_id, "stamp": stamp, "paths": paths, "target": restore["target"],
              "restore": restore, "mail": mail, "preflight": checks}
    document = trip_state.finish(context.state_dir, document, "prepare", trip_state.PREPARED, record, context.now)
    return step_report("prepare", document["state"], restore, warnings=warnings, notes=notes, mail=mail,
                       preflight=checks, next=plan_lines(config))


def _mail_keep(context, warnings: list, *, dry_run: bool):
    if not context.config.mailer:
        return None
    try:
        return steps.mail_keep(context.config, context.state_dir, dry_run, context.environ or None)
    except steps.StepUnavailable as missing:
        warnings.append(f"mail clients were not switched: {missing}")
        return None


PREFLIGHT_ELSEWHERE = ("the network preflight checks the machine it runs on, not the laptop over ssh: "
                      "run `travelsync preflight` on the laptop")


def _preflight(context, warnings: list, notes: list):
    """The network checks, when this machine is the laptop; else a note (not a warning: nothing
    is wrong) to run them there. Checks that end warn or fail are warnings (exit 3); ok and
    skip are not (docs/trip.md)."""
    if context.skip_preflight:
        return []
    if context.config.laptop.location.is_remote:
        notes.append(PREFLIGHT_ELSEWHERE)
        return []
    try:
        return steps.preflight(context.config, context.environ)
    except steps.StepUnavailable as missing:
        warnings.append(f"preflight skipped: {missing}")
        return []


def plan_lines(config) -> list[str]:
    """The short plan for the night and the morning that prepare prints."""
    spec = config.schedule.incremental
    return [f"tonight ({spec.text}): the scheduled incremental backup captures new mail and the mail-client change",
            "departure morning: `travelsync finalize` brings the laptop up to that snapshot (only the changes)",
            "after the trip: `travelsync return` (switch home's mail client back once home has fetched the trip's mail)"]
