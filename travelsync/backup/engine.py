"""Take one snapshot: lock, choose the kind, rsync each source into partial/<id>, write the
manifest, commit (snapshot.json last, rename, swap `latest`).

    report = run_backup(config, kind="auto")

A crash at any point leaves `latest` and every listed snapshot as they were; the next run
renames the leftover partial to its own id and rsync sends only what is missing.
"""

import errno
import os
import threading
import time

from travelsync import clock
from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.exitcodes import ExitStatus
from travelsync.repository import layout, open_repository
from travelsync.repository.snapshot import SnapshotInfo
from travelsync.backup.cache_tags import with_tagged_folders
from travelsync.backup.outcome import Outcome, classify
from travelsync.backup.plan import choose_kind
from travelsync.backup.report import BackupReport
from travelsync.backup.run import BackupRun, Callbacks, Stop
from travelsync.rsync.stats import Stats


def run_backup(app_or_config, *, kind: str = "auto", dry_run: bool = False, environ=None,
               on_item=None, on_progress=None, notice=None, cancel: threading.Event | None = None,
               sleep=time.sleep, check_changes: bool = True, on_started=None,
               allow_clock_behind: bool = False) -> BackupReport:
    """Back up every configured source; return a BackupReport (exit_status 0 or 3).

    app_or_config: a cli App (its config and environment are used) or a Config.
    kind: "full" | "incremental" | "auto" (design §3). dry_run: rsync --dry-run, nothing written.
    on_item(code, name) / on_progress(Progress): rsync's itemized lines and progress, streamed.
    notice(message): one-line messages for the user (lock taken over, partial resumed…).
    cancel: set it (e.g. from a SIGTERM handler) to stop at a safe point: rsync is terminated,
    the partial kept, and backup/run.Stopped (exit 75) raised.
    on_started(): called once the lock is held (notifiers ping "start" then, not for a run
    that only found the repository locked).
    Raises TemporaryError (75) when locked or unreachable, or when the lock is lost during the
    run (LockLost: nothing committed); TravelsyncError (1) on failure, with "no space left on
    <repository>" when the repository is full, and for a repository of another format (read
    before the lock is taken: nothing, not even the lock file, is written into it).
    A snapshot whose snapshot.json is damaged is never a link-dest parent: the report's
    warnings name it, and the parent used instead (exit 3).
    """
    config = getattr(app_or_config, "config", app_or_config)
    environ = environ if environ is not None else getattr(app_or_config, "environ", None)
    callbacks = Callbacks(on_item, on_progress, notice or (lambda message: None), sleep)
    repository = open_repository(config, environ)
    started = clock.now(environ)
    began = time.monotonic()  # durations by the real clock: TRAVELSYNC_NOW replays a fixed instant
    _check_sources(config)
    for source in config.sources:
        for entry in source.left_out:
            callbacks.notice(f"source {source.name}: left out {entry.what} {entry.path} (it is inside the source)")
    if dry_run:
        repository.check_format(missing_ok=True)
        run = BackupRun(with_tagged_folders(config, callbacks.notice), repository, started, began, callbacks)
        return _dry_run(run, kind, allow_clock_behind)
    lock = repository.lock("backup", callbacks.notice)  # over ssh its connection opens now, alongside the check
    try:
        repository.check_format(missing_ok=True)  # read only: an empty or missing folder is created under the lock
    except BaseException:
        getattr(lock, "abandon", lambda: None)()  # nothing taken, nothing written
        raise
    with lock as held:
        if on_started is not None:
            on_started()
        config = with_tagged_folders(config, callbacks.notice)  # after the lock: a locked run walks nothing
        run = BackupRun(config, repository, started, began, callbacks, Stop(cancel, held),
                        _closed_paths(config, repository))
        try:
            return _backup(run, kind, check_changes=check_changes, allow_clock_behind=allow_clock_behind)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise _no_space(repository)
            raise


def _check_sources(config) -> None:
    for source in config.sources:
        if not os.path.isdir(source.path):
            raise TravelsyncError(f"source {source.name}: {source.path} is not a folder (or does not exist)")


def _no_space(repository) -> TravelsyncError:
    return TravelsyncError(f"no space left on {repository.location}",
                           hint="the partial snapshot is kept for the next run; free space or run "
                                "`travelsync prune` (which also removes partial snapshots)")


def _dry_run(run: BackupRun, kind: str, allow_clock_behind: bool = False) -> BackupReport:
    from travelsync.rsync.args import backup_args
    from travelsync.rsync.run import run_rsync

    config, repository, started = run.config, run.repository, run.started
    snapshots = repository.snapshots() if repository.exists() else []  # else the first real run creates it
    chosen = choose_kind(kind, config.schedule, snapshots, started)
    parent = repository.latest() if chosen == "incremental" and snapshots else None
    total, seconds, warnings = Stats(), 0.0, _repository_warnings(repository, parent) if snapshots else []
    behind = None if allow_clock_behind else _clock_behind(snapshots, started)
    if behind is not None:  # the real run refuses: the dry run says so
        warnings.append(f"{behind}: the real run would be refused ({CLOCK_HINT})")
    closed = _closed_paths(config, repository)
    for source in config.sources:
        destination = repository.location.child(layout.PARTIAL, "dry-run", layout.DATA, source.name)
        link_dest = _link_dest(repository, parent, source)
        result = run_rsync(backup_args(config.rsync, _ssh(config, repository), source, destination, link_dest=link_dest,
                                       dry_run=True, closed_paths=closed),
                           on_item=run.callbacks.on_item, on_progress=run.callbacks.on_progress)
        outcome = classify(result)
        if outcome in (Outcome.FAILED, Outcome.TRANSPORT, Outcome.KILLED):
            raise TravelsyncError(f"rsync dry run of source {source.name} failed: {result.error_summary()}")
        total, seconds = total.add(result.stats), seconds + result.seconds
    kind_taken = "incremental" if parent is not None else "full"  # no snapshot yet: the run makes a full
    return BackupReport(None, kind_taken, total.files_transferred,
                        total.literal_data or total.transferred_size, total.total_size, seconds, warnings,
                        ExitStatus.WARNINGS if warnings else ExitStatus.SUCCESS, dry_run=True)


def _repository_warnings(repository, parent) -> list[str]:
    """What is wrong in the listing, and which parent an incremental links to instead of a
    damaged `latest`: a damaged snapshot is never trusted as a link-dest."""
    warnings = [f"{repository.damage_report(name)}; left as it is, never used as a link-dest parent"
                for name in repository.damaged]
    problem = repository.latest_problem()
    if problem is not None:
        warnings.append(f"{problem}: the incremental links to {parent.id} instead" if parent is not None
                        else problem)
    return warnings


def _ssh(config, repository):
    """The repository's ssh settings (with its shared connection), else the configured ones."""
    return getattr(repository.store, "ssh", config.ssh)


def _closed_paths(config, repository) -> bool:
    """No other user can reach the repository or the sources: rsync may skip its per-file
    symlink-race walk (a local repository only; rsync/trusted_paths.py says why it is safe)."""
    if repository.location.is_remote:
        return False
    from travelsync.rsync.trusted_paths import skip_symlink_walk

    return skip_symlink_walk(config.rsync.program, [repository.location.path, *(s.path for s in config.sources)])


def _link_dest(repository, parent, source) -> str | None:
    if parent is None or (parent.sources and source.name not in parent.sources):
        return None
    return repository.store.absolute(f"{layout.SNAPSHOTS}/{parent.id}/{layout.DATA}/{source.name}")


def _backup(run: BackupRun, kind: str, *, check_changes: bool = True, allow_clock_behind: bool = False) -> BackupReport:
    config, repository, started, stop = run.config, run.repository, run.started, run.stop
    if repository.location.is_remote:  # a stopped run's rsync may still be writing there
        from travelsync.rsync.leftovers import end_stale_receivers

        ended = end_stale_receivers(repository.store.run, repository.store.absolute(layout.PARTIAL))
        if ended:
            run.notice(f"ended {ended} rsync process(es) that an earlier, stopped run left writing into "
                       f"{repository.location}")
    repository.overview(refresh=True)  # as it is now that the lock is held
    repository.check_format(create_at=started)
    snapshots = repository.snapshots()
    if not allow_clock_behind:
        _check_clock(snapshots, started)
    chosen = choose_kind(kind, config.schedule, snapshots, started)
    parent = repository.latest() if chosen == "incremental" else None
    if chosen == "incremental" and parent is None:
        run.notice("no intact snapshot yet: taking a full backup")
        chosen = "full"
    noted = _repository_warnings(repository, parent)
    exit_status = ExitStatus.WARNINGS if noted else ExitStatus.SUCCESS
    if parent is not None and check_changes:
        from travelsync.backup.changes import unchanged_since

        if unchanged_since(config, repository, parent, closed_paths=run.closed_paths):
            stop.check()
            finished = run.finished()
            repository.record_no_change("incremental", started, finished, parent.id)
            return BackupReport(parent.id, "incremental", seconds=(finished - started).total_seconds(),
                                warnings=noted, exit_status=exit_status, no_change=True)
    from travelsync.verify.spool import ManifestSpool

    taken = {name for name, _ in repository.overview().documents}  # damaged folders' names too
    snapshot_id, resumed = _prepare_partial(repository, chosen, started, taken, run.notice)
    partial = repository.partial_path(snapshot_id)
    total, warnings, failed, status = Stats(), [], [], "complete"
    with ManifestSpool(config, repository, partial, parent if chosen == "incremental" else None) as manifest:
        for source in _in_rsync_order(config.sources):
            result = _transfer(run, source, partial, parent, manifest)
            outcome = classify(result)
            total = total.add(result.stats)
            if outcome is Outcome.VANISHED:
                exit_status = ExitStatus.WARNINGS
                warnings.append(f"{source.name}: {result.vanished_count} file(s) vanished during the backup: "
                                + ", ".join(result.vanished_files[:10]))
            elif outcome is Outcome.PARTIAL:
                exit_status, status = ExitStatus.WARNINGS, "incomplete"
                target = repository.location.child(partial, layout.DATA, source.name).path
                named = [_in_source(name, str(source.path), target) for name in result.failed_files]
                failed += [f"{source.name}: {name}" for name in named]
                warnings.append(f"{source.name}: {max(result.failed_count, 1)} file(s) could not be backed up: "
                                + (", ".join(named[:10]) or result.error_summary()))
        stop.check()
        manifest.write()
    attributes = _extended_attributes(repository, partial)
    finished = run.finished()
    info = SnapshotInfo(snapshot_id, chosen, parent.id if parent else None, started, finished, status,
                        total.files, total.total_size, tuple(warnings), tuple(s.name for s in config.sources),
                        {k: getattr(total, k) for k in total.__dataclass_fields__}, tuple(failed),
                        extended_attributes=attributes)
    stop.check()  # the last safe point: never commit without the lock
    repository.commit(info)
    return BackupReport(snapshot_id, chosen, total.files_transferred, total.literal_data, total.total_size,
                        (finished - started).total_seconds(), noted + warnings, exit_status, status,
                        resumed=resumed, failed_files=failed, **manifest.counts())


def _in_source(failed: str, source_path: str, target: str) -> str:
    """rsync's `<path> (<reason>)` with the path as the user knows it, under the source: the
    receiver names the file in the partial snapshot (gone once committed), the sender's
    PATH_MAX line names it relative to the source."""
    path, _, reason = failed.rpartition(" (")
    if path.startswith(target + "/"):
        path = source_path.rstrip("/") + path[len(target):]
    elif not path.startswith("/"):
        path = f"{source_path.rstrip('/')}/{path}"
    return f"{path} ({reason}"


def _check_clock(snapshots, started) -> None:
    """Refuse a run whose clock is behind the newest snapshot (nothing written yet): its
    start time would read older than the snapshots made with the true clock, and the
    schedule would take the old reading for the last run. (With --allow-clock-behind its id
    still comes after the newest: layout.snapshot_id.)"""
    behind = _clock_behind(snapshots, started)
    if behind is not None:
        raise TravelsyncError(f"{behind}; nothing was written", hint=CLOCK_HINT)


CLOCK_HINT = ("set the clock right (a dead CMOS battery? a VM restored from a snapshot?), or pass "
              "--allow-clock-behind")


def _clock_behind(snapshots, started) -> str | None:
    """What is wrong when `started` is before the newest snapshot's start, else None."""
    newest = max(snapshots, key=lambda s: s.started, default=None)
    if newest is None or started >= newest.started:
        return None
    return (f"this machine's clock ({started.isoformat()}) is behind the newest snapshot {newest.id} "
            f"(started {newest.started.isoformat()})")


def _extended_attributes(repository, partial) -> bool | None:
    """Whether the new snapshot's data holds any ACL or extended attribute (backup/attributes.py);
    None for a remote repository, which is not looked at."""
    if repository.location.is_remote:
        return None
    from travelsync.backup.attributes import any_extended_attributes

    return any_extended_attributes(repository.location.child(partial, layout.DATA).path)


def _prepare_partial(repository, kind, started, taken, notice) -> tuple[str, bool]:
    """A fresh partial/<id>, or the leftover of an interrupted run of the same kind renamed to
    this run's id (resume). Leftovers of the other kind are removed: a full must not inherit
    an incremental's hard links."""
    snapshot_id = layout.snapshot_id(started, kind, taken)
    leftovers = [n for n in repository.partials() if layout.is_snapshot_id(n)]
    reusable = [n for n in leftovers if layout.kind_of(n) == kind]
    resumed = False
    for name in leftovers:
        if reusable and name == reusable[-1]:
            if name != snapshot_id:
                repository.store.rename(repository.partial_path(name), repository.partial_path(snapshot_id))
            notice(f"resuming the interrupted snapshot {name} as {snapshot_id}")
            resumed = True
        else:
            repository.remove(repository.partial_path(name))
    repository.store.makedirs(f"{repository.partial_path(snapshot_id)}/{layout.DATA}")
    return snapshot_id, resumed


def _in_rsync_order(sources):
    """Sources in the order rsync would list data/'s folders (the manifest's order)."""
    return sorted(sources, key=lambda source: source.name.encode() + b"/")


def _transfer(run: BackupRun, source, partial, parent, manifest=None):
    """rsync one source into the partial snapshot, retrying transport failures (rsync/retry.py).
    rsync's listing feeds `manifest` (a verify/spool.ManifestSpool) as it streams; the run's
    stop terminates rsync and ends the run at once."""
    from travelsync.rsync.args import backup_args
    from travelsync.rsync.retry import RetryPolicy, with_retries
    from travelsync.rsync.run import run_rsync

    config, repository, stop, callbacks = run.config, run.repository, run.stop, run.callbacks
    destination = repository.location.child(partial, layout.DATA, source.name)
    argv = backup_args(config.rsync, _ssh(config, repository), source, destination,
                       link_dest=_link_dest(repository, parent, source), listing=manifest is not None,
                       progress=callbacks.on_progress is not None,  # progress2 doubles rsync's output: only for a bar
                       closed_paths=run.closed_paths)

    def attempt(number: int):
        stop.check()
        builder = manifest.start(source, first_attempt=number == 0) if manifest is not None else None
        result = run_rsync(argv, on_item=callbacks.on_item, on_progress=callbacks.on_progress, cancel=stop,
                           on_files=builder.add_lines if builder is not None else None)
        stop.check()
        outcome = classify(result)
        if outcome is Outcome.NO_SPACE:
            raise _no_space(repository)
        if outcome is Outcome.KILLED:
            raise TravelsyncError(f"rsync was killed by signal {result.signal} while backing up {source.name}; "
                                  "the partial snapshot is kept and the next run resumes it")
        if outcome is Outcome.FAILED:
            raise TravelsyncError(f"rsync failed on source {source.name} (exit {result.exit_code}): "
                                  f"{result.error_summary()}")
        if outcome is not Outcome.TRANSPORT and builder is not None:
            manifest.finish(builder)
        return result

    def on_retry(result, delay: float) -> None:
        run.notice(f"rsync transport failure (exit {result.exit_code}: {result.error_summary()}); "
                   f"retrying in {delay:g} s")

    policy = RetryPolicy.of(config.rsync)
    result = with_retries(attempt, policy, is_transport=lambda result: classify(result) is Outcome.TRANSPORT,
                          on_retry=on_retry, pause=lambda seconds: stop.pause(seconds, callbacks.sleep))
    if classify(result) is Outcome.TRANSPORT:
        raise TemporaryError(f"repository {repository.location} unreachable: rsync exit {result.exit_code}: "
                             f"{result.error_summary()} (after {policy.retries} retries; previous snapshots untouched)")
    return result
