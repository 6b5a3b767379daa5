"""The restore stage shared by prepare and finalize: checked before the trip state changes,
then run (resumable, with the trip's stamp and the snapshots it may compare against)."""

from travelsync.restore.runner import plan_restore, run_restore


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
