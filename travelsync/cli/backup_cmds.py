"""`backup`, `snapshots`, `verify`, `prune`: the repository commands (a thin layer over
travelsync.backup, travelsync.repository and travelsync.verify)."""

import click

from travelsync.errors import TravelsyncError, UsageError
from travelsync.exitcodes import ExitStatus

EXIT_HELP = ("\b\nExit codes: 0 done; 1 failure (e.g. no space left on the repository); 2 usage or\n"
             "configuration error; 3 done with warnings (files vanished or unreadable);\n"
             "75 repository locked or unreachable (try again later), or skipped by a before_backup hook.")


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
    The `hooks:` before_backup commands run first (one exiting 75 skips the run: exit 75,
    "skipped by hook"), after_backup after a success, on_error after any failure.
    On a terminal a progress bar shows bytes, rate and ETA; at the end a summary.
    SIGTERM stops rsync at once and keeps the partial snapshot (exit 75).
    """
    import signal
    import threading

    from travelsync.backup.hooked import backup_with_hooks
    from travelsync.cli.lazy import stop_requested
    from travelsync.rsync.progress import ProgressBar, summary_line

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
    try:
        report = backup_with_hooks(config, environ=app.environ, kind=kind, dry_run=dry_run, warn=app.warn,
                                   cancel=cancel, on_item=on_item, on_progress=bar.update if bar else None,
                                   notice=app.info, allow_clock_behind=allow_clock_behind)
    finally:
        if bar:
            bar.finish()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for warning in report.warnings:
        app.warn(warning)

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
@click.option("--sizes", is_flag=True,
              help="Also each snapshot's OWN size: disk space of files shared with neither neighbour (hard "
                   "links), what deleting it alone would free. Walks the snapshot trees (du): slow.")
@click.pass_obj
def snapshots(app, sizes):
    """List the repository's snapshots, oldest first: id, kind, started, duration, files,
    bytes, status. With --json: a list of {id, kind, status, started, finished, files, bytes,
    parent, warnings}. --sizes adds OWN (JSON own_bytes): the disk space only that snapshot
    holds.

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
    own = {}
    if sizes:
        from travelsync.history.sizes import own_sizes

        own = own_sizes(repository, [s.id for s in found])

    def human(items):
        if not items:
            return f"no snapshots in {repository.location}"
        rows = [("ID", "KIND", "STARTED", "DURATION", "FILES", "BYTES") + (("OWN",) if sizes else ()) + ("STATUS",)]
        for s in items:
            mark = " (latest)" if latest and s.id == latest.id else ""
            size = ((human_bytes(own[s.id]) if own.get(s.id) is not None else "?",) if sizes else ())
            rows.append((s.id, s.kind, s.started.isoformat(timespec="seconds"), f"{s.seconds:.0f}s",
                         str(s.files), human_bytes(s.bytes)) + size + (s.status + mark,))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)

    if app.json:
        app.emit([{**s.listing(), **({"own_bytes": own.get(s.id)} if sizes else {})} for s in found])
    else:
        app.emit(found, human)
    return ExitStatus.WARNINGS if problems else ExitStatus.SUCCESS


def _percent(ctx, param, value):
    """`10%` or `10` → 10.0; a usage error outside (0, 100]."""
    if value is None:
        return None
    try:
        number = float(value.strip().removesuffix("%"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a percentage such as 10%") from None
    if not 0 < number <= 100:
        raise click.BadParameter(f"{value!r}: give a percentage above 0 and at most 100")
    return number


@click.command("verify", epilog=EXIT_HELP)
@click.argument("snapshot_id", metavar="[ID]", required=False)
@click.option("--all", "every", is_flag=True, help="Every snapshot of the repository, oldest first.")
@click.option("--sample", metavar="N%", callback=_percent,
              help="Hash a random N % of the files only (a new draw each run): changed and missing files "
                   "among them are found, files that appeared are not. Version-2 manifests only.")
@click.pass_obj
def verify(app, snapshot_id, every, sample):
    """Hash every file of a snapshot (default: latest; also `last-full`) and compare with the
    checksum manifest written at backup time. Reports files whose contents changed, files
    missing and files that appeared. Exit 1 when anything differs. On a terminal a bar shows
    the bytes checked, the rate and the time left. The manifest is streamed: memory does not
    grow with the number of files.

    --all checks every snapshot in turn (JSON: {ok, snapshots: [one report each]}); --sample
    N% a random part of each, the weekly check one schedules (`verify --all --sample 5%`).

    A snapshot whose snapshot.json is missing or damaged fails with a line saying so (its
    files are still checked against its manifest, so you learn whether the data is sound);
    when `latest` names such a snapshot, plain `verify` checks that one, never an older one."""
    from travelsync.repository import layout, open_repository

    if every and snapshot_id:
        raise UsageError(f"give an ID or --all, not both (--all with {snapshot_id!r})")
    repository = open_repository(app.config, app.environ)
    repository.check_format()
    if every:
        names = [s.id for s in repository.snapshots()] + list(repository.damaged)
        names = sorted(names, key=layout.order_key)
        if not names:
            raise TravelsyncError(f"{repository.location}: no snapshot to verify")
    else:
        names = [snapshot_id or "latest"]
    results, stopped = [], None
    for name in names:
        try:
            data, problem = _verify_one(app, repository, name, sample, missing_ok=every)
        except TravelsyncError as error:
            if not every:
                raise
            # --all: this snapshot failed; the others are still worth checking and reporting,
            # unless the repository itself is out of reach (then every next one would fail too)
            data, problem = {"snapshot": name, "ok": False, "checked": 0, "corrupted": [], "missing": [],
                             "extra": [], "error": error.message}, error.message
            if int(error.exit_status) == ExitStatus.TEMPORARY:
                stopped = error
        results.append(data)
        if problem is not None:
            app.error(problem)
        if stopped is not None:
            break

    def block(r):
        what = "all match the manifest" if r["ok"] else "DIFFERENCES FOUND"
        if r.get("error"):
            what = f"NOT CHECKED: {r['error']}"
        elif r.get("no_manifest"):
            what = f"no manifest ({layout.MANIFEST_FILE}): not checked"
        damaged = f", but its {layout.SNAPSHOT_FILE} is missing or damaged" if r.get("problems") else ""
        sampled = f" (a {r['sample']['percent']:g} % sample of {r['sample']['of']})" if r.get("sample") else ""
        lines = [f"snapshot {r['snapshot']}: {r['checked']} files checked{sampled}, {what}{damaged}"]
        for key, label in (("corrupted", "changed"), ("missing", "missing"), ("extra", "extra")):
            lines += [f"  {label}: {path}" for path in r[key]]
        return "\n".join(lines)

    ok = all(r["ok"] for r in results)
    if every:
        app.emit({"ok": ok, "snapshots": results}, lambda d: "\n".join(block(r) for r in d["snapshots"]))
    else:
        app.emit(results[0], block)
    if stopped is not None:
        return ExitStatus.TEMPORARY
    return ExitStatus.SUCCESS if ok else ExitStatus.FAILURE


def _verify_one(app, repository, snapshot_id: str, sample, *, missing_ok: bool):
    """(the report as JSON data, the problem with its snapshot.json or None) of one snapshot.
    A snapshot without a manifest: TravelsyncError, or with `missing_ok` a failed report."""
    from travelsync.repository import layout
    from travelsync.verify.check import compare
    from travelsync.verify.manifest import ManifestDamaged

    snapshot, problem = repository.named(snapshot_id)
    base = f"{layout.SNAPSHOTS}/{snapshot}"
    manifest_rel = f"{base}/{layout.MANIFEST_FILE}"
    first = repository.store.open_for_reading(manifest_rel)  # streamed by compare, never held whole
    if first is not None:
        first.close()
    if first is None:
        if missing_ok:
            return ({"snapshot": snapshot, "ok": False, "checked": 0, "corrupted": [], "missing": [], "extra": [],
                     "no_manifest": True, **({"problems": [problem]} if problem else {})}, problem)
        if problem is not None:
            raise TravelsyncError(f"{problem}; no manifest ({layout.MANIFEST_FILE}) to check its files against either")
        raise TravelsyncError(f"snapshot {snapshot} has no manifest ({layout.MANIFEST_FILE}); nothing to verify")
    bar = None
    if app.interactive:
        from travelsync.rsync.progress import ProgressBar

        bar = ProgressBar(app.stderr, "verify ")
    chosen = None
    try:
        with repository.reading(snapshot):  # prune leaves it while its files are hashed
            opener = lambda: repository.store.open_for_reading(manifest_rel)  # noqa: E731
            hashes = repository.store.file_hashes(f"{base}/{layout.DATA}")
            if sample is not None:
                from travelsync.verify.sample import Sample, SampleHashes

                chosen = Sample(opener, sample)
                opener, hashes = chosen.open, SampleHashes(hashes, chosen)
            report = compare(snapshot, opener, hashes, on_progress=bar.update if bar else None)
    except ManifestDamaged as error:
        raise TravelsyncError(f"snapshot {snapshot}: {error.message} ({manifest_rel})",
                              hint="its files cannot be checked; `verify` the others, back up again") from None
    finally:
        if bar:
            bar.finish()
        if chosen is not None:
            chosen.close()
    data = report.to_json()
    if chosen is not None:
        data["sample"] = {"percent": sample, "chosen": chosen.chosen, "of": chosen.total}
    if problem is not None:
        data["ok"] = False
        data["problems"] = [problem]
    return data, problem


@click.command("prune", epilog=EXIT_HELP)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted and why the rest is kept.")
@click.pass_obj
def prune(app, dry_run):
    """Delete snapshots the retention policy lets go: keep the last `retention.full` fulls and
    every snapshot newer than the oldest kept full; or, with any `keep_daily`, `keep_weekly`,
    `keep_monthly`, `keep_yearly` or `keep_within` key, the newest snapshot of each of that many
    last days, ISO weeks, months and years (in the schedule's zone), every snapshot within
    that long of the newest, the last `full` fulls, and the full of each kept incremental.
    Never the latest, the last full, or a snapshot the trip state protects. --dry-run names
    each kept snapshot's reasons ("kept: 2026-11-30T… (monthly 2026-11, weekly 2026-W48)").
    Also removes partial snapshots of interrupted runs. Says how much disk space that frees
    (JSON `freed_bytes`: blocks of files no kept snapshot links to, from du).
    Snapshots are renamed away under the lock and deleted after it is released. A snapshot
    that a restore, prepare, finalize, verify or sync-back is reading is left (`in use`;
    JSON `in_use`) and deleted by the next prune."""
    from travelsync.repository import open_repository
    from travelsync.repository.prune import prune as apply_retention
    from travelsync.rsync.progress import human_bytes

    repository = open_repository(app.config, app.environ)
    repository.check_format()
    from travelsync.schedule.slots import zone_for

    data = apply_retention(repository, app.config.retention, zone=zone_for(app.config.schedule), dry_run=dry_run,
                           notice=app.info).to_json()

    def human(d):
        verb = "would delete" if dry_run else "deleted"
        lines = [f"{verb}: {i}" for i in d["deleted"]] + [f"kept:    {i} ({d['reasons'][i]})" for i in d["kept"]]
        lines += [f"{verb} partial: {p}" for p in d["partials_removed"]]
        if d["freed_bytes"] and (d["deleted"] or d["partials_removed"]):
            lines.append(f"{'would free' if dry_run else 'freed'}: {human_bytes(d['freed_bytes'])}")
        return "\n".join(lines) or "nothing to prune"

    app.emit(data, human)
    return ExitStatus.SUCCESS
