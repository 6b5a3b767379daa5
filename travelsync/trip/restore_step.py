"""The restore stage shared by prepare and finalize: resumable, with the trip's stamp and references."""

from travelsync.restore.runner import plan_restore, run_restore


def restore_stage(context, *, snapshot_id: str, paths, to: str | None, stamp: str, references=(),
                  after_crash=False, dry_run=False) -> dict:
    """Restore `paths` of `snapshot_id` to the laptop (or `to`); the restore report as JSON."""
    plan = plan_restore(context.config, context.repository, None, paths, to=to, stamp=stamp,
                        dry_run=dry_run, snapshot_id=snapshot_id)
    context.info(f"{'checking' if dry_run else 'restoring'} {', '.join(plan.paths)} from {snapshot_id} "
                 f"to {plan.target}")
    report = run_restore(context.config, context.repository, plan, on_progress=context.on_progress,
                         references=references, after_crash=after_crash)
    return report.to_json()
