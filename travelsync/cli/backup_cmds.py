"""`backup`, `snapshots`, `verify`, `prune`: the repository commands (a thin layer over
travelsync.backup, travelsync.repository and travelsync.verify)."""

import click

from travelsync.errors import TravelsyncError
from travelsync.exitcodes import ExitStatus

EXIT_HELP = ("\b\nExit codes: 0 done; 1 failure (e.g. no space left on the repository); 2 usage or\n"
             "configuration error; 3 done with warnings (files vanished or unreadable);\n"
             "75 repository locked or unreachable (try again later).")


@click.command("backup", epilog=EXIT_HELP)
@click.option("--full", "kind", flag_value="full", help="An independent copy (no hard links to older snapshots).")
@click.option("--incremental", "kind", flag_value="incremental",
              help="Hard-link unchanged files to the latest snapshot (rsync --link-dest).")
@click.option("--auto", "kind", flag_value="auto", default=True,
              help="Full on the configured day, when none exists or the last is too old; else incremental "
                   "(the default).")
@click.option("--if-due", is_flag=True,
              help="Only when the schedule says a backup is due (for cron/systemd: run hourly).")
@click.option("--dry-run", is_flag=True, help="Show what would be transferred; write nothing.")
@click.option("--allow-clock-behind", is_flag=True,
              help="Back up although this machine's clock is behind the newest snapshot's start (a dead "
                   "CMOS battery, a VM restored from a snapshot); refused otherwise (exit 1).")
@click.pass_obj
def backup(app, kind, if_due, dry_run, allow_clock_behind):
    """Take a snapshot of the configured sources into the repository.

    Each source is copied with rsync -aHAX --numeric-ids into partial/<id>/data/<source>,
    a checksum manifest is written, then the snapshot is committed atomically (renamed
    into snapshots/, `latest` swapped). An interrupted run is resumed by the next one.
    When an incremental would change nothing, no snapshot is made and the run is recorded.
    On a terminal a progress bar shows bytes, rate and ETA; at the end a summary.
    SIGTERM stops rsync at once and keeps the partial snapshot (exit 75).
    """
    import signal
    import threading

    from travelsync.backup.engine import run_backup
    from travelsync.cli.lazy import stop_requested
    from travelsync.notify.hooks import notify_outcome, notify_start
    from travelsync.rsync.progress import ProgressBar, human_bytes, summary_line

    config = app.config
    if if_due:
        kind = _due_kind(app, config)
        if kind is None:
            upcoming = _next_due(app, config)
            data = {"snapshot": None, "files_transferred": 0, "bytes_transferred": 0, "seconds": 0,
                    "warnings": [], "due": None, "next_due": upcoming.isoformat() if upcoming else None}
            app.emit(data, lambda d: f"nothing due until {d['next_due']}" if d["next_due"] else "nothing due")
            return ExitStatus.SUCCESS
    bar = ProgressBar(app.stderr, "backup ") if app.interactive else None
    on_item = (lambda code, name: app.detail(f"{code} {name}")) if app.verbosity > 0 else None
    cancel = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda number, _frame: (cancel.set(), stop_requested(number)))
    started = []

    def on_started():
        started.append(True)
        if not dry_run:
            for problem in notify_start(config):
                app.warn(problem)

    try:
        report = run_backup(app, kind=kind, dry_run=dry_run, on_item=on_item,
                            on_progress=bar.update if bar else None, notice=app.info, cancel=cancel,
                            on_started=on_started, allow_clock_behind=allow_clock_behind)
    except TravelsyncError as error:
        if started and not dry_run:  # a run that only found the lock held reports nothing
            for problem in notify_outcome(config, {"exit_status": int(error.exit_status), "message": error.message}):
                app.warn(problem)
        raise
    finally:
        if bar:
            bar.finish()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for warning in report.warnings:
        app.warn(warning)
    if not dry_run:
        for problem in notify_outcome(config, report):
            app.warn(problem)

    def human(r):
        if r.no_change:
            return f"no change since {r.snapshot}: no new snapshot"
        head = "dry run: would transfer" if r.dry_run else f"snapshot {r.snapshot} ({r.kind}, {r.status}):"
        return f"{head} {summary_line(r.files_transferred, r.bytes_transferred, r.total_size, r.seconds)}"

    if app.json:
        app.emit(report.to_json())
    else:
        app.emit(report, human)
    return report.exit_status


def _due_kind(app, config):
    from travelsync.schedule.due import is_due
    from travelsync.repository import open_repository

    repository = open_repository(config, app.environ)
    try:
        repository.check_format()
        runs = repository.successful_runs()
    except TravelsyncError as error:
        if error.exit_status in (ExitStatus.TEMPORARY, ExitStatus.USAGE):  # USAGE: a damaged runs.json
            raise
        runs = []
    return is_due(config.schedule, runs, app.now())


def _next_due(app, config):
    """When the schedule's next slot comes (in its zone), for "nothing due until …"."""
    from travelsync.schedule.slots import next_slot, zone_for

    zone = zone_for(config.schedule)
    slot = next_slot(config.schedule, app.now(), zone)
    return slot.instant.astimezone(zone) if slot else None


@click.command("snapshots", epilog=EXIT_HELP)
@click.pass_obj
def snapshots(app):
    """List the repository's snapshots, oldest first: id, kind, started, duration, files,
    bytes, status. With --json: a list of {id, kind, status, started, finished, files, bytes,
    parent, warnings}.

    A snapshot folder whose snapshot.json is missing, unreadable or damaged is not listed:
    a warning on stderr names it and what is wrong (exit 3), as it does when `latest`
    names such a snapshot. Nothing is changed: the folder is left for you to inspect."""
    from travelsync.repository import open_repository
    from travelsync.rsync.progress import human_bytes

    repository = open_repository(app.config, app.environ)
    repository.check_format()
    found = repository.snapshots()
    problems = repository.problems
    for problem in problems:
        app.warn(problem)
    latest = None if repository.latest_problem() else repository.latest()

    def human(items):
        if not items:
            return f"no snapshots in {repository.location}"
        rows = [("ID", "KIND", "STARTED", "DURATION", "FILES", "BYTES", "STATUS")]
        for s in items:
            mark = " (latest)" if latest and s.id == latest.id else ""
            rows.append((s.id, s.kind, s.started.isoformat(timespec="seconds"), f"{s.seconds:.0f}s",
                         str(s.files), human_bytes(s.bytes), s.status + mark))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)

    if app.json:
        app.emit([s.listing() for s in found])
    else:
        app.emit(found, human)
    return ExitStatus.WARNINGS if problems else ExitStatus.SUCCESS


@click.command("verify", epilog=EXIT_HELP)
@click.argument("snapshot_id", metavar="[ID]", required=False, default="latest")
@click.pass_obj
def verify(app, snapshot_id):
    """Hash every file of a snapshot (default: latest; also `last-full`) and compare with the
    checksum manifest written at backup time. Reports files whose contents changed, files
    missing and files that appeared. Exit 1 when anything differs. On a terminal a bar shows
    the bytes checked, the rate and the time left.

    A snapshot whose snapshot.json is missing or damaged fails with a line saying so (its
    files are still checked against its manifest, so you learn whether the data is sound);
    when `latest` names such a snapshot, plain `verify` checks that one, never an older one."""
    from travelsync.repository import layout, open_repository
    from travelsync.verify.check import compare

    repository = open_repository(app.config, app.environ)
    repository.check_format()
    snapshot, problem = repository.named(snapshot_id)
    base = f"{layout.SNAPSHOTS}/{snapshot}"
    manifest = repository.store.read(f"{base}/{layout.MANIFEST_FILE}")
    if manifest is None:
        if problem is not None:
            raise TravelsyncError(f"{problem}; no manifest ({layout.MANIFEST_FILE}) to check its files against either")
        raise TravelsyncError(f"snapshot {snapshot} has no manifest ({layout.MANIFEST_FILE}); nothing to verify")
    bar = None
    if app.interactive:
        from travelsync.rsync.progress import ProgressBar

        bar = ProgressBar(app.stderr, "verify ")
    try:
        with repository.reading(snapshot):  # prune leaves it while its files are hashed
            report = compare(snapshot, manifest, repository.store.file_hashes(f"{base}/{layout.DATA}"),
                             on_progress=bar.update if bar else None)
    finally:
        if bar:
            bar.finish()
    data = report.to_json()
    if problem is not None:
        data["ok"] = False
        data["problems"] = [problem]

    def human(r):
        files = "all match the manifest" if report.ok else "DIFFERENCES FOUND"
        damaged = f", but its {layout.SNAPSHOT_FILE} is missing or damaged (below)" if problem else ""
        lines = [f"snapshot {r['snapshot']}: {r['checked']} files checked, {files}{damaged}"]
        for key, label in (("corrupted", "changed"), ("missing", "missing"), ("extra", "extra")):
            lines += [f"  {label}: {path}" for path in r[key]]
        return "\n".join(lines)

    app.emit(data, human)
    if problem is not None:
        app.error(problem)
    return ExitStatus.SUCCESS if data["ok"] else ExitStatus.FAILURE


@click.command("prune", epilog=EXIT_HELP)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted and why the rest is kept.")
@click.pass_obj
def prune(app, dry_run):
    """Delete snapshots the retention policy lets go: keep the last `retention.full` fulls and
    every snapshot newer than the oldest kept full; never the latest, the last full, or a
    snapshot the trip state protects. Also removes partial snapshots of interrupted runs.
    Snapshots are renamed away under the lock and deleted after it is released. A snapshot
    that a restore, prepare, finalize, verify or sync-back is reading is left (`in use`;
    JSON `in_use`) and deleted by the next prune."""
    from travelsync.repository import open_repository
    from travelsync.repository.prune import prune as apply_retention

    repository = open_repository(app.config, app.environ)
    repository.check_format()
    data = apply_retention(repository, app.config.retention.full, dry_run=dry_run, notice=app.info).to_json()

    def human(d):
        verb = "would delete" if dry_run else "deleted"
        lines = [f"{verb}: {i}" for i in d["deleted"]] + [f"kept:    {i} ({d['reasons'][i]})" for i in d["kept"]]
        lines += [f"{verb} partial: {p}" for p in d["partials_removed"]]
        return "\n".join(lines) or "nothing to prune"

    app.emit(data, human)
    return ExitStatus.SUCCESS
