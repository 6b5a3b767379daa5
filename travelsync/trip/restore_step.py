"""The restore stage shared by prepare and finalize: checked before the trip state changes,
then run (resumable, with the trip's stamp and the snapshots it may compare against)."""

from travelsync.restore.runner import plan_restore, run_restore
from travelsync.trip import state as trip_state


def plan_stage(context, *, snapshot_id: str, paths, stamp: str, dry_run=False):
    """Check snapshot, paths and laptop (UsageError 2, TemporaryError 75) before anything changes."""
    return plan_restore(context.config, context.repository, None, paths, to=None, stamp=stamp,
                        dry_run=dry_run, snapshot_id=snapshot_id)


def run_stage(context, plan, *, references=(), after_crash=False) -> dict:
    """Run the planned restore; its report as JSON."""
    context.info(f"{'checking' if plan.dry_run else 'restoring'} {', '.join(plan.paths)} from {plan.snapshot_id} "
                 f"to {plan.target}")
    report = run_restore(context.config, context.repository, plan, on_progress=context.on_progress,
                         references=references, after_crash=after_crash)
    return report.to_json()


def restore_once(context, document, plan, *, references, interrupted: bool) -> dict:
    """The restore stage of the step under way in `document`: run and recorded as done, or,
    when a crashed run already finished it, its recorded report (never run twice)."""
    done = document["in_progress"]["stages"]
    if "restore" not in done:
        restore = run_stage(context, plan, references=references, after_crash=interrupted)
        trip_state.stage_done(context.state_dir, document, "restore", restore)
    return done["restore"]
