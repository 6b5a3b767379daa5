"""`travelsync restore`: chosen paths of a snapshot onto the laptop (or --to DIR)."""

import click

from travelsync.exitcodes import ExitStatus


def progress_bar(app, label: str):
    """A terminal progress bar when a person watches, else None (no output to scripts and cron)."""
    if not app.interactive:
        return None
    from travelsync.rsync.progress import ProgressBar

    return ProgressBar(app.stderr, label)


@click.command("restore")
@click.option("--from", "choice", default="latest", show_default=True, metavar="WHEN",
              help="Which snapshot: latest, last-full, an id from `travelsync snapshots`, yesterday, a date "
                   "(2026-11-30: the newest snapshot of that day, in schedule.timezone), a date-time "
                   "(2026-11-30T14:00: the newest started by then) or an age (3d, 12h, 1w).")
@click.option("--path", "paths", multiple=True, metavar="P",
              help="<source name>/<path inside it>, e.g. home/Mail (repeatable). Default: laptop.paths.")
@click.option("--to", "to", metavar="DIR",
              help="Restore into the plain folder DIR (a folder or [user@]host:/folder): each path lands in "
                   "DIR under its own last name (home/src/x.py → DIR/x.py).")
@click.option("--root", "root", metavar="DIR",
              help="Use DIR as the laptop's root instead of laptop.root: home/src/x.py of /home/marc lands at "
                   "DIR/home/marc/src/x.py.")
@click.option("--in-place", is_flag=True,
              help="Put the paths back where they were on this machine; a file that differs is kept beside "
                   "itself as <name>.travelsync-<timestamp>.")
@click.option("--dry-run", is_flag=True, help="List what would change; write nothing.")
@click.pass_obj
def restore(app, choice, paths, to, root, in_place, dry_run):
    """Copy paths from a snapshot onto the laptop, into a folder, or back in place.

    Each path P is <source name>/<path inside that source>: `home/Mail` of the source `home`
    (path /home/marc) lands at <root>/home/marc/Mail, where <root> is laptop.root on
    laptop.host, or DIR with --root.  With --to DIR it lands at DIR/Mail (a whole source,
    `home`, at DIR/home); two paths with the same last name are refused there.  With
    --in-place it goes back to /home/marc/Mail on this machine.  Paths must exist in the
    snapshot; `..` and absolute paths are refused.  On the home machine, a laptop root that
    would put the paths over the live home is refused unless --to, --root or --in-place
    says so.

    Deletions happen only inside the selected paths.  A laptop file that the restore would
    overwrite or delete, and that differs from the snapshot, is moved aside to
    <root>/<laptop.displaced>/<timestamp>/ (default .travelsync-displaced), keeping its
    place under the root, and listed (with --in-place: beside itself).  Nothing is
    silently lost.

    \b
    Exit status: 0 restored; 2 bad path, unknown snapshot or bad configuration;
    3 restored with warnings; 75 laptop or repository unreachable (run it again);
    1 rsync failed.  A restore that was interrupted resumes when run again.
    """
    from travelsync import clock
    from travelsync.repository import open_repository
    from travelsync.restore.report import human
    from travelsync.restore.runner import plan_restore, run_restore

    config = app.config
    repository = open_repository(config, app.environ)
    plan = plan_restore(config, repository, choice, list(paths) or list(config.laptop.paths), to=to, root=root,
                        in_place=in_place, stamp=clock.utc_stamp(app.now()), dry_run=dry_run)
    chosen = f" ({plan.chosen})" if plan.chosen else ""
    app.info(f"{'checking' if dry_run else 'restoring'} {', '.join(plan.paths)} from {plan.snapshot_id}{chosen} "
             f"to {plan.target}")
    bar = progress_bar(app, "restore ")
    try:
        report = run_restore(config, repository, plan, on_progress=bar.update if bar else None)
    finally:
        if bar:
            bar.finish()
    app.emit(report.to_json(), lambda data: human(report))
    return ExitStatus.WARNINGS if report.warnings else ExitStatus.SUCCESS
