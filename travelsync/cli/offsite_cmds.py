"""`offsite sync|status|verify|restore`: the off-site copies (a thin layer over travelsync.offsite)."""

import click

from travelsync.errors import TravelsyncError
from travelsync.exitcodes import ExitStatus

EXIT_HELP = ("\b\nExit codes: 0 done; 1 failure (e.g. no space left on the copy, differences found);\n"
             "2 usage or configuration error, wrong password, a copy made with another encryption\n"
             "or gocryptfs config; 3 done with warnings (a copy older than its warn_after, one of\n"
             "several copies failed); 75 a copy or the repository locked or unreachable (named;\n"
             "run it again later: it resumes).")


@click.group("offsite", epilog=EXIT_HELP)
def offsite():
    """Off-site copies of the repository (the `offsite:` entries): a second repository of the
    same format on another machine ([user@]host:/path) or a mounted disk, plain or encrypted
    with gocryptfs. See docs/offsite.md."""


@offsite.command("sync", epilog=EXIT_HELP, short_help="Copy the snapshots a copy lacks, oldest first; then its keep:.")
@click.argument("name", required=False)
@click.option("--dry-run", is_flag=True, help="Say which snapshots would be copied (each with the one it would "
                                               "link to) and what the copy's retention would delete; write nothing.")
@click.option("--if-due", is_flag=True,
              help="Only the copies that are due (for cron and systemd, after `backup --if-due`): a copy without "
                   "`schedule:` when the repository has a snapshot it did not get at its last sync, a copy with one "
                   "when a slot of it came since. Decided from the record of the last syncs: no copy is contacted.")
@click.pass_obj
def sync(app, name, dry_run, if_due):
    """Copy to each off-site copy (or only NAME) every snapshot it lacks, oldest first.

    Every committed snapshot newer than the copy's newest is copied with rsync -aHAX
    --numeric-ids into the copy's partial/<id>/, with --link-dest to the copy's previous
    snapshot (an incremental links to its parent, a full to nothing, as at home), so the
    copy keeps the hard links and takes about the space of the repository. Then, as in a
    backup, snapshot.json is written last, the folder renamed into snapshots/ and `latest`
    swapped: a run stopped anywhere (SIGTERM, SIGKILL, a lost link, a full disk) leaves the
    copy's snapshots complete, and the next run resumes the partial one. The copy has its
    own lock; each home snapshot is held with a reader's lock while copied (prune leaves
    it). Afterwards the copy's `keep:` retention is applied.

    With encryption: gocryptfs, rsync copies each snapshot's gocryptfs -reverse view:
    only ciphertext and gocryptfs.conf (the key, encrypted with the password from
    password_command) reach the copy. The password is checked before anything is written.

    On a terminal a progress bar shows each snapshot's transfer. JSON: {copies: [{name,
    repository, encryption, copied, links, not_copied, deleted, files_transferred,
    bytes_transferred, seconds, latest, warnings}]}.
    """
    import signal
    import threading

    from travelsync.cli.lazy import stop_requested
    from travelsync.offsite.copies import chosen
    from travelsync.offsite.status import record_sync
    from travelsync.offsite.sync import sync_copy
    from travelsync.rsync.progress import ProgressBar, human_bytes

    config = app.config
    copies = chosen(config, name)
    skipped = _not_due(app, config, copies) if if_due else []
    copies = [copy for copy in copies if copy.name not in skipped]
    cancel = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda number, _frame: (cancel.set(), stop_requested(number)))
    reports, failures = [], []
    try:
        for copy in copies:
            bar = ProgressBar(app.stderr, f"offsite {copy.name} ") if app.interactive else None
            try:
                report = sync_copy(config, copy, environ=app.environ, dry_run=dry_run, notice=app.info,
                                   on_progress=bar.update if bar else None, cancel=cancel)
            except TravelsyncError as error:
                if len(copies) == 1:
                    raise
                failures.append((copy.name, error))
                app.error(f"{error.message}" + (f" (hint: {error.hint})" if error.hint else ""))
                continue
            finally:
                if bar:
                    bar.finish()
            reports.append(report)
            if not dry_run:
                record_sync(app.state_dir, copy.name, report.latest, report.latest_started, app.now())
            for warning in report.warnings:
                app.warn(warning)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    def human(document):
        lines = []
        for r in document["copies"]:
            verb = "would copy" if r["dry_run"] else "copied"
            what = ", ".join(r["copied"]) if r["copied"] else "nothing (up to date)"
            lines.append(f"{r['name']}: {verb} {what}; latest there: {r['latest'] or 'none'}")
            if not r["dry_run"] and r["copied"]:
                lines.append(f"  {r['files_transferred']} files, {human_bytes(r['bytes_transferred'])} sent "
                             f"in {r['seconds']:.1f} s")
            if r["deleted"]:
                lines.append(f"  {'would delete' if r['dry_run'] else 'deleted'} (keep:): {', '.join(r['deleted'])}")
        lines += [f"{n}: FAILED: {e.message}" for n, e in failures]
        lines += [f"{n}: not due" for n in document["not_due"]]
        return "\n".join(lines)

    document = {"copies": [r.to_json() for r in reports], "not_due": skipped,
                "failed": [{"name": n, "error": e.message, "exit_status": int(e.exit_status)} for n, e in failures]}
    app.emit(document, human)
    if failures:
        return max(int(e.exit_status) for _, e in failures) if not reports else ExitStatus.WARNINGS
    return ExitStatus.WARNINGS if any(r.warnings for r in reports) else ExitStatus.SUCCESS


def _not_due(app, config, copies) -> list[str]:
    """The names of the copies `--if-due` leaves (offsite/plan.py is_due)."""
    from travelsync.offsite.plan import is_due
    from travelsync.offsite.status import recorded
    from travelsync.repository import open_repository
    from travelsync.schedule.slots import zone_for

    home = open_repository(config, app.environ)
    home.check_format(missing_ok=True)
    snapshots = home.snapshots() if home.exists() else []
    newest = snapshots[-1].id if snapshots else None
    found, now, zone = recorded(app.state_dir), app.now(), zone_for(config.schedule)
    return [copy.name for copy in copies if not is_due(copy, found.get(copy.name), newest, now, zone)]


@offsite.command("status", epilog=EXIT_HELP, short_help="Each copy's newest snapshot, its age, what it lacks.")
@click.argument("name", required=False)
@click.pass_obj
def status(app, name):
    """For each off-site copy (or only NAME): its newest snapshot, how old that is, and which
    snapshots of the repository it lacks (what the next `offsite sync` copies). Each copy
    is asked (over ssh for a remote one); an unreachable copy is reported, not fatal.
    A copy older than its `warn_after` (default 2d), never synced or unreachable: exit 3.
    JSON: {copies: [{name, repository, encryption, latest, latest_started, age_seconds,
    snapshots, missing, warning, error}]}."""
    from travelsync.offsite.copies import chosen, open_copy
    from travelsync.offsite.plan import age_of, human_age, plan_sync, too_old
    from travelsync.repository import open_repository

    config = app.config
    home_snapshots, notes = [], []
    try:
        home = open_repository(config, app.environ)
        home.check_format()
        home_snapshots = home.snapshots()
    except TravelsyncError as error:
        notes.append(f"repository: {error.message}")
    now = app.now()
    entries = []
    for copy in chosen(config, name):
        entry = {"name": copy.name, "repository": str(copy.repository), "encryption": copy.encryption,
                 "latest": None, "latest_started": None, "age_seconds": None, "snapshots": 0, "missing": [],
                 "warning": None, "error": None}
        try:
            target = open_copy(config, copy, app.environ)
            target.check_format(missing_ok=True)
            found = target.snapshots() if target.exists() else []
            newest = found[-1] if found else None
            entry.update(snapshots=len(found), latest=newest.id if newest else None,
                         latest_started=newest.started.isoformat() if newest else None)
            age = age_of(newest.started if newest else None, now)
            entry["age_seconds"] = round(age.total_seconds(), 1) if age is not None else None
            entry["missing"] = [s.snapshot_id for s in plan_sync(home_snapshots, [s.id for s in found]
                                                                  + list(target.damaged if found else []))]
            if too_old(newest.started if newest else None, now, copy.warn_after):
                entry["warning"] = ("never synced" if newest is None else
                                    f"{human_age(age)} old (more than {copy.warn_after})")
        except TravelsyncError as error:
            entry["error"] = error.message
        entries.append(entry)

    def human(document):
        lines = []
        for e in document["copies"]:
            if e["error"]:
                lines.append(f"{e['name']} ({e['repository']}): {e['error']}")
                continue
            age = human_age(age_of_seconds(e["age_seconds"]))
            lines.append(f"{e['name']} ({e['repository']}, {e['encryption']}): latest {e['latest'] or 'none'} "
                         f"({age} old), {e['snapshots']} snapshots, missing {len(e['missing'])}"
                         + (f": {', '.join(e['missing'])}" if e["missing"] else ""))
            if e["warning"]:
                lines.append(f"  warning: {e['warning']}")
        lines += [f"note: {n}" for n in document["notes"]]
        return "\n".join(lines)

    app.emit({"copies": entries, "notes": notes}, human)
    return ExitStatus.WARNINGS if any(e["warning"] or e["error"] for e in entries) or notes else ExitStatus.SUCCESS


def age_of_seconds(seconds):
    from datetime import timedelta

    return None if seconds is None else timedelta(seconds=seconds)


@offsite.command("verify", epilog=EXIT_HELP, short_help="Check a snapshot of a copy against its manifest.")
@click.argument("name")
@click.argument("snapshot_id", metavar="[ID]", required=False)
@click.pass_obj
def verify(app, name, snapshot_id):
    """Hash every file of a snapshot of off-site copy NAME (default: its latest; also
    `last-full` or an id) and compare with the snapshot's checksum manifest, the one written
    at backup time and copied with it: changed, missing and appeared files are reported,
    exit 1 when anything differs. A plain copy over ssh is hashed on its own machine (no
    data crosses the network). An encrypted copy is mounted with gocryptfs (read-only;
    fetched first when over ssh) and its plaintext checked. JSON as `verify`."""
    from travelsync.offsite.copies import chosen, open_copy

    config = app.config
    copy = chosen(config, name)[0]
    target = open_copy(config, copy, app.environ)
    target.check_format()
    if copy.encryption == "gocryptfs":
        data = _verify_encrypted(app, config, copy, target, snapshot_id or "latest")
    else:
        from travelsync.cli.backup_cmds import _verify_one

        data, problem = _verify_one(app, target, snapshot_id or "latest", None, missing_ok=False)
        if problem is not None:
            app.error(problem)
    data["copy"] = copy.name

    def block(r):
        lines = [f"{r['copy']}: snapshot {r['snapshot']}: {r['checked']} files checked, "
                 + ("all match the manifest" if r["ok"] else "DIFFERENCES FOUND")]
        for key, label in (("corrupted", "changed"), ("missing", "missing"), ("extra", "extra")):
            lines += [f"  {label}: {path}" for path in r[key]]
        return "\n".join(lines)

    app.emit(data, block)
    return ExitStatus.SUCCESS if data["ok"] else ExitStatus.FAILURE


def _verify_encrypted(app, config, copy, target, snapshot_id):
    from travelsync.location import Location
    from travelsync.offsite import encrypted
    from travelsync.repository import layout
    from travelsync.repository.local_store import LocalStore
    from travelsync.verify.check import compare

    snapshot = target.get(snapshot_id)
    keys = encrypted.Keys.for_reading(copy, target, app.environ)
    with target.reading(snapshot.id), encrypted.plaintext(config, copy, target, keys, snapshot.id) as plain:
        store = LocalStore(Location(str(plain)))
        store.rsync_settings = config.rsync
        if store.read(layout.MANIFEST_FILE) is None:
            raise TravelsyncError(f"snapshot {snapshot.id} has no manifest ({layout.MANIFEST_FILE}); nothing to verify")
        report = compare(snapshot.id, lambda: store.open_for_reading(layout.MANIFEST_FILE),
                         store.file_hashes(layout.DATA))
    return report.to_json()


@offsite.command("restore", epilog=EXIT_HELP, short_help="Restore paths from a copy (no home repository needed).")
@click.argument("name")
@click.option("--path", "paths", multiple=True, required=True, metavar="P",
              help="<source name>/<path inside it>, e.g. home/Mail (repeatable).")
@click.option("--to", "to", required=True, metavar="DIR",
              help="Restore into the plain folder DIR (or [user@]host:/folder): each path lands in DIR under "
                   "its own last name, as `restore --to`.")
@click.option("--from", "choice", default="latest", show_default=True, metavar="WHEN",
              help="Which snapshot of the copy: latest, last-full, an id, a date, an age (as `restore --from`).")
@click.option("--dry-run", is_flag=True, help="List what would change; write nothing.")
@click.pass_obj
def restore(app, name, paths, to, choice, dry_run):
    """Restore paths from off-site copy NAME into DIR: the way back when the home repository
    is gone (it is not read at all). A plain copy is restored with `restore`'s own code (files
    in DIR that would be overwritten are moved aside, nothing is silently lost). An encrypted
    copy's snapshot is mounted with gocryptfs forward, read-only (its ciphertext fetched into
    a private temporary folder first when the copy is over ssh), the chosen paths copied out
    of it into a private temporary repository, and restored from there. The configuration
    (its `sources:` and `offsite:` entries, and the password command) is all that is needed."""
    from travelsync import clock
    from travelsync.offsite.copies import chosen, copy_config, open_copy
    from travelsync.restore.report import human
    from travelsync.restore.runner import plan_restore, run_restore

    config = app.config
    copy = chosen(config, name)[0]
    target = open_copy(config, copy, app.environ)
    stamp = clock.utc_stamp(app.now())
    if copy.encryption == "gocryptfs":
        from travelsync.offsite.restore import restore_encrypted

        report = restore_encrypted(config, copy, target, choice, list(paths), to, stamp, dry_run, app.environ,
                                   notice=app.info)
    else:
        here = copy_config(config, copy)
        plan = plan_restore(here, target, choice, list(paths), to=to, stamp=stamp, dry_run=dry_run)
        app.info(f"restoring {', '.join(plan.paths)} from {copy.name}'s {plan.snapshot_id} to {plan.target}")
        report = run_restore(here, target, plan)
    app.emit(report.to_json(), lambda data: human(report))
    return ExitStatus.WARNINGS if report.warnings else ExitStatus.SUCCESS
