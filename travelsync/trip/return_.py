"""`return`, after the trip: optionally bring the laptop's changes home, then switch home's
mail clients back to how they were (in the safe order), and end the trip.
"""

from travelsync.clock import utc_stamp
from travelsync.restore.runner import target_location
from travelsync.trip import state as trip_state
from travelsync.trip import steps


def return_trip(context, *, sync_back: bool = False, dry_run: bool = False) -> dict:
    """Run (or resume) return; return its report {state, warnings, mail, sync_back, dry_run}."""
    config = context.config
    document = trip_state.load(context.state_dir)
    trip_state.require(document, "return")
    interrupted = trip_state.resuming(document, "return")
    warnings: list[str] = []
    last = document.get("finalize") or document.get("prepare") or {}
    stamp = interrupted["stamp"] if interrupted else utc_stamp(context.now)
    if not dry_run and not interrupted:
        trip_state.begin(context.state_dir, document, "return", context.now, stamp=stamp)
    done = document["in_progress"]["stages"] if not dry_run else {}
    report = {"step": "return", "dry_run": dry_run, "warnings": warnings, "sync_back": None, "mail": None}
    if sync_back:
        report["sync_back"] = done.get("sync_back") or _sync_back(context, document, last, stamp, dry_run)
        if not dry_run:
            trip_state.stage_done(context.state_dir, document, "sync_back", report["sync_back"])
    if config.mailer:
        try:
            warnings += steps.mail_revert_warnings(config)
            report["mail"] = done.get("mail") or steps.mail_revert(config, context.state_dir, dry_run, context.environ or None)
            if not dry_run:
                trip_state.stage_done(context.state_dir, document, "mail", report["mail"])
        except steps.StepUnavailable as missing:
            warnings.append(f"mail clients were not switched back: {missing}")
    if dry_run:
        report["state"] = document["state"]
        return report
    record = {"sync_back": report["sync_back"], "mail": report["mail"], "warnings": warnings,
              "released_snapshots": document.get("protected_snapshots", [])}
    document["protected_snapshots"] = []
    document = trip_state.finish(context.state_dir, document, "return", trip_state.RETURNED, record, context.now)
    report["state"] = document["state"]
    return report


def _sync_back(context, document, last: dict, stamp: str, dry_run: bool) -> dict:
    with context.repository.reading(last.get("snapshot")):  # prune leaves the basis while it is compared
        return _sync_back_from(context, last, stamp, dry_run)


def _sync_back_from(context, last: dict, stamp: str, dry_run: bool) -> dict:
    from travelsync.trip.sync_back import apply_sync_back, plan_sync_back

    basis = last.get("snapshot")
    target = target_location(context.config, None)
    context.info(f"comparing the laptop with {basis} (dry run)")
    plan = plan_sync_back(context.config, context.repository, basis, last.get("paths") or context.config.laptop.paths,
                          target)
    result = plan.to_json(stamp)
    for line in result["copy"]:
        context.info(f"  copy home: {line}")
    for conflict in result["conflicts"]:
        context.info(f"  changed on both sides, keeping both: {conflict['path']} (laptop's as {conflict['laptop_copy']})")
    if dry_run:
        result["applied"] = False
        return result
    result.update(apply_sync_back(context.config, plan, target, stamp))
    result["applied"] = True
    return result


def human(report: dict) -> str:
    lines = []
    sync = report.get("sync_back")
    if sync:
        verb = "copied" if sync.get("applied") else "would copy"
        lines.append(f"sync back ({'applied' if sync.get('applied') else 'dry run'}): {verb} "
                     f"{len(sync['copy'])} files home, {len(sync['conflicts'])} changed on both sides (both kept)")
        lines += [f"  {p}" for p in sync["copy"][:50]]
        lines += [f"  both kept: {c['path']} + {c['laptop_copy']}" for c in sync["conflicts"][:50]]
        if sync.get("already_home_count"):
            lines.append(f"  {sync['already_home_count']} mail messages the laptop has are already at home "
                         "(same Maildir name or Message-ID): not copied again")
        deleted = sync["deleted_on_laptop"]
        if deleted:
            count = sync.get("deleted_count", len(deleted))
            lines.append(f"  {count} deleted on the laptop, not deleted at home (delete them by hand if meant):")
            lines += [f"    {p}" for p in deleted]
            if count > len(deleted):
                lines.append(f"    … and {count - len(deleted)} more")
    mail = report.get("mail")
    if mail is not None:
        lines.append("mail clients: switched back" if not report.get("dry_run") else "mail clients: would switch back")
    lines += [f"warning: {w}" for w in report.get("warnings", [])]
    lines.append(f"trip state: {report.get('state')}")
    return "\n".join(lines)
