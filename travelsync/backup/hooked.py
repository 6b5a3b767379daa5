"""A backup with everything around it: the hooks (travelsync/hooks.py) and the notifiers
(travelsync/notify/hooks.py), the same for `travelsync backup` and for the backup that
`finalize --backup-first` takes."""

from contextlib import nullcontext

from travelsync.errors import TravelsyncError


def backup_with_hooks(config, *, environ, kind: str = "auto", dry_run: bool = False, warn=lambda line: None,
                      cancel=None, **run_options):
    """run_backup (backup/engine.py) between before_backup and after_backup, on_error when it
    fails; `notify` pinged at start (once the lock is held) and told the outcome. A dry run
    runs neither. Raises what run_backup or a hook raised."""
    from travelsync.backup.engine import run_backup
    from travelsync.hooks import around
    from travelsync.notify.hooks import notify_outcome, notify_start

    started = []

    def on_started():
        started.append(True)
        if not dry_run:
            for problem in notify_start(config):
                warn(problem)

    hooks = nullcontext({}) if dry_run else around(config, "backup", environ=environ, cancel=cancel, warn=warn)
    try:
        with hooks as run:
            report = run_backup(config, kind=kind, dry_run=dry_run, environ=environ, cancel=cancel,
                                on_started=on_started, **run_options)
            run["status"] = report.exit_status
            run["extra"] = {"snapshot": report.snapshot, "kind": report.kind, "no_change": int(report.no_change)}
    except TravelsyncError as error:
        if started and not dry_run:  # a run that only found the lock held (or was skipped) reports nothing
            for problem in notify_outcome(config, {"exit_status": int(error.exit_status), "message": error.message}):
                warn(problem)
        raise
    if not dry_run:
        for problem in notify_outcome(config, report):
            warn(problem)
    return report
