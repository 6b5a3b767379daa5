"""`finalize`, the departure morning: the newest snapshot → laptop (only the delta since
prepare), the laptop's restored mail configuration checked for keep-on-server, preflight again.
"""

from datetime import datetime

from travelsync.clock import utc_stamp
from travelsync.errors import TravelsyncError
from travelsync.mail.model import MailConfigError
from travelsync.restore.runner import resolve_snapshot
from travelsync.restore import places
from travelsync.trip import state as trip_state
from travelsync.trip import steps
from travelsync.trip.prepare import _preflight
from travelsync.trip.restore_step import plan_stage, restore_once, run_stage
from travelsync.trip.report import preflight_warnings, step_report


def taken_since(snapshot, instant_text: str | None) -> bool:
    """Was `snapshot` started at or after the ISO instant (prepare's end)?"""
    if not instant_text:
        return True
    return snapshot.started >= datetime.fromisoformat(instant_text)


def finalize(context, *, dry_run: bool = False, backup_first: bool = False, take_incremental=None,
             full: bool = False) -> dict:
    """Run (or resume) finalize; return its report. `take_incremental(context)` runs a backup
    when --backup-first is given and nothing was taken since prepare. Only the changes since
    the snapshot the laptop holds are sent (restore/delta.py), unless `full` (--full) or they
    cannot be known: then the whole tree, with a note saying why."""
    config = context.config
    document = trip_state.load(context.state_dir)
    trip_state.require(document, "finalize")
    interrupted = trip_state.resuming(document, "finalize")
    prepared = document.get("prepare") or {}
    paths = prepared.get("paths") or list(config.laptop.paths)
    warnings: list[str] = []
    notes: list[str] = []
    repository = context.repository
    if interrupted:
        snapshot_id, stamp = interrupted["snapshot"], interrupted["stamp"]
        context.info(f"resuming the interrupted finalize of {interrupted['started']} ({snapshot_id})")
    else:
        latest = resolve_snapshot(repository, "latest")
        if not taken_since(latest, prepared.get("at")):
            if backup_first and not dry_run:
                context.info("no snapshot since prepare: taking an incremental backup first")
                (take_incremental or default_incremental)(context)
                repository.snapshots(refresh=True)
                latest = resolve_snapshot(repository, "latest")
                notes.append(f"took incremental {latest.id} first (--backup-first)")
            else:
                warnings.append(f"no snapshot was taken since prepare ({prepared.get('at')}); the laptop gets "
                                f"{latest.id}, which may lack the newest mail and the keep-on-server setting; "
                                "run `travelsync finalize --backup-first` to take an incremental first")
        snapshot_id, stamp = latest.id, utc_stamp(context.now)
    references = list(document.get("protected_snapshots") or [])
    plan = plan_stage(context, snapshot_id=snapshot_id, paths=paths, stamp=stamp, dry_run=dry_run)
    plan = with_delta(context, document, plan, paths, notes, full=full)
    try:
        if dry_run:
            restore = run_stage(context, plan)
            return step_report("finalize", document["state"], restore, warnings=warnings + restore["warnings"],
                               dry_run=True, notes=notes)
        if not interrupted:
            document["protected_snapshots"] = list(dict.fromkeys(references + [snapshot_id]))
            trip_state.begin(context.state_dir, document, "finalize", context.now, snapshot=snapshot_id,
                             stamp=stamp, paths=paths)
        restore = restore_once(context, document, plan, references=references, interrupted=bool(interrupted))
    finally:
        if plan.delta is not None:
            plan.delta.remove()
    mail_checks = check_laptop_mail(context, warnings)
    checks = _preflight(context, warnings, notes)
    warnings = restore["warnings"] + warnings + preflight_warnings(checks)
    record = {"snapshot": snapshot_id, "stamp": stamp, "paths": paths, "target": restore["target"],
              "restore": restore, "mail": mail_checks, "preflight": checks,
              "bytes_transferred": restore["bytes_transferred"], "files_transferred": restore["files_transferred"],
              "seconds": restore["seconds"]}
    document = trip_state.finish(context.state_dir, document, "finalize", trip_state.FINALIZED, record, context.now)
    return step_report("finalize", document["state"], restore, warnings=warnings, notes=notes, mail=mail_checks,
                       preflight=checks, next=["after the trip: `travelsync return`"])


def with_delta(context, document, plan, paths, notes: list, *, full: bool = False):
    """The plan restricted to the changes since the snapshot the laptop holds (restore/delta.py),
    or the plan as it is (the whole tree) with a note saying why."""
    from travelsync.restore.delta import narrowed

    plan, note = narrowed(context.repository, document, plan, paths, full=full)
    if note:
        notes.append(note)
    else:
        context.info(f"sending only the changes from {plan.delta.basis} to {plan.snapshot_id} "
                     f"({plan.delta.entries} paths)")
    return plan


def check_laptop_mail(context, warnings: list) -> list[dict]:
    """Does each restored mail configuration on the laptop keep mail on the server?

    A laptop client that deletes after download would take the trip's mail away from home.
    """
    config = context.config
    root = config.laptop.location
    results = []
    for entry in config.mailer:
        if not entry.file:
            results.append({"kind": entry.kind, "file": None, "mode": None,
                            "note": "no file configured: the laptop's copy was not checked"})
            continue
        found = steps.laptop_copy_of(config, entry.file, root)
        if found is None:
            results.append({"kind": entry.kind, "file": entry.file, "mode": None,
                            "note": "not among laptop.paths: not restored, not checked"})
            continue
        location, laptop_path = found
        try:
            data = places.read_bytes(location, config.ssh)
            if data is None:
                mode = None
                warnings.append(f"{laptop_path}: the laptop has no restored copy at {location}")
            else:
                mode = steps.mail_mode_of_text(entry.kind, data.decode("utf-8", "replace"))
        except steps.StepUnavailable as missing:
            warnings.append(f"laptop mail configuration not checked: {missing}")
            return results
        except (TravelsyncError, MailConfigError, ValueError) as error:  # a file the adapter cannot parse
            mode = "unknown"
            warnings.append(f"{location}: cannot tell whether it keeps mail on the server ({error})")
        results.append({"kind": entry.kind, "file": str(location), "mode": mode})
        if mode is not None and mode not in ("keep", "none"):  # none: IMAP only, nothing deletes
            warnings.append(f"{location} ({entry.kind}) is in {mode!r} mode on the laptop: it would delete mail "
                            "from the server; run `travelsync mailer keep` at home and take an incremental "
                            "backup, then finalize again")
    return results


def default_incremental(context) -> None:
    """Take an incremental backup in-process, with the hooks and notifications a scheduled
    one has (backup/hooked.py)."""
    from travelsync.backup.hooked import backup_with_hooks

    backup_with_hooks(context.config, kind="incremental", environ=context.environ,
                      warn=lambda line: context.info(f"warning: {line}"))
