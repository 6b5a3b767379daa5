"""`offsite sync`: copy the snapshots an off-site copy lacks, oldest first, then apply its
retention.

    report = sync_copy(config, copy, environ=environ)

Each snapshot is copied as the home repository writes one (design §3): rsync into the copy's
partial/<id>/ (`--link-dest` to the copy's previous snapshot, plan.py), then snapshot.json
last, the rename into snapshots/ and the swap of `latest`, by the very store code the backup
uses (local_store.py, or resources/remote/commit.sh over ssh). A run that dies anywhere
leaves the copy's listed snapshots complete; the next run resumes the partial (rsync then
sends only what is missing). The copy has its own writer lock (REPO/lock of the copy), and
each home snapshot is held by a reader's lock while it is copied, so a home `prune` leaves it.
"""

import errno
import time
from dataclasses import dataclass, field

from travelsync import clock
from travelsync.errors import TemporaryError, TravelsyncError, UsageError
from travelsync.repository import layout, open_repository
from travelsync.offsite.copies import encryption_of, open_copy, repo_file_text
from travelsync.offsite.plan import not_copied, plan_sync


class Stopped(TemporaryError):
    """Asked to stop (SIGTERM): rsync terminated, the partial kept for the next run."""


@dataclass
class SyncReport:
    name: str
    location: str
    encryption: str
    dry_run: bool = False
    copied: list = field(default_factory=list)  # snapshot ids, oldest first
    links: dict = field(default_factory=dict)  # id -> the copy's snapshot it was linked to (None: alone)
    not_copied: list = field(default_factory=list)  # older than the copy's newest: never copied
    deleted: list = field(default_factory=list)  # by the copy's retention
    files_transferred: int = 0
    bytes_transferred: int = 0
    seconds: float = 0.0
    latest: str | None = None
    latest_started: object = None  # datetime of the copy's newest snapshot (for the age in `status`)
    warnings: list = field(default_factory=list)
    resumed: str | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "repository": self.location, "encryption": self.encryption,
                "dry_run": self.dry_run, "copied": self.copied, "links": self.links,
                "not_copied": self.not_copied, "deleted": self.deleted,
                "files_transferred": self.files_transferred, "bytes_transferred": self.bytes_transferred,
                "seconds": round(self.seconds, 3), "latest": self.latest, "warnings": self.warnings,
                "resumed": self.resumed}


class _Stop:
    """When the run stops at a safe point: SIGTERM (`cancel`) or the copy's lock lost."""

    def __init__(self, cancel, held):
        self.cancel, self.held = cancel, held

    def is_set(self) -> bool:  # polled by run_rsync
        return (self.cancel is not None and self.cancel.is_set()) or self.held.lost() is not None

    def pause(self, seconds: float, sleep) -> None:
        """Wait between two rsync tries, ending early when the run is to stop (SIGTERM)."""
        deadline = time.monotonic() + seconds
        while not self.is_set() and time.monotonic() < deadline:
            sleep(min(max(deadline - time.monotonic(), 0), 0.2))

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Stopped("offsite sync stopped on request; the partial snapshot is kept and the next run resumes it")
        why = self.held.lost()
        if why is not None:
            raise TemporaryError(f"the off-site copy's lock was lost ({why}); stopped before committing: the "
                                 "partial snapshot is kept and the next run resumes it")


def sync_copy(config, copy, *, environ=None, dry_run: bool = False, notice=None, on_progress=None,
              cancel=None, sleep=time.sleep) -> SyncReport:
    """Bring off-site copy `copy` (a config OffsiteCopy) up to date; return a SyncReport.

    Raises UsageError (2) when both repositories are remote (rsync needs one end here) or an
    encrypted copy's home repository is not on this machine; ConfigError (2) when the copy
    was made with another encryption setting, or the password is wrong (nothing written);
    TemporaryError (75) when the copy is locked or its host unreachable (named); and
    TravelsyncError (1) for a full disk there ("no space left on …", the partial kept).
    """
    try:
        return _sync_copy(config, copy, environ, dry_run, notice or (lambda message: None), on_progress, cancel,
                          sleep)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise no_space(copy, copy.repository) from None
        raise
    except TemporaryError as error:  # locked or unreachable: the copy (and so its host) named
        raise TemporaryError(_named(copy, error.message), hint=error.hint) from None


def _sync_copy(config, copy, environ, dry_run, notice, on_progress, cancel, sleep) -> SyncReport:
    began = time.monotonic()
    home = open_repository(config, environ)
    home.check_format()
    target = open_copy(config, copy, environ)
    if home.location.is_remote and target.location.is_remote:
        raise UsageError(f"off-site copy {copy.name}: the repository ({home.location}) and the copy "
                         f"({target.location}) are both remote: rsync needs one end on this machine",
                         hint="run `offsite sync` where the repository is")
    report = SyncReport(copy.name, str(target.location), copy.encryption, dry_run=dry_run)
    keys = None
    if copy.encryption == "gocryptfs":
        from travelsync.offsite import encrypted

        keys = encrypted.Keys.for_sync(copy, home, target, environ)  # password checked before any lock or write
    home_snapshots = home.snapshots()
    for problem in home.problems:
        report.warnings.append(f"home repository: {problem}")
    if dry_run:
        target.check_format(missing_ok=True)
        _check_encryption(target, copy)
        return _dry_run(config, copy, target, home_snapshots, report)
    lock = target.lock("offsite sync", notice)
    try:
        target.check_format(missing_ok=True)  # read only: nothing is written before the format is known
        _check_encryption(target, copy)
    except BaseException:
        getattr(lock, "abandon", lambda: None)()
        raise
    with lock as held:
        stop = _Stop(cancel, held)
        if keys is not None:
            with keys.opened(target) as session:
                _sync(config, copy, home, target, home_snapshots, report, stop, notice, on_progress, sleep, session)
        else:
            _sync(config, copy, home, target, home_snapshots, report, stop, notice, on_progress, sleep, None)
    _retention(config, copy, target, report, notice)
    report.seconds = time.monotonic() - began
    return report


def _named(copy, message: str) -> str:
    return message if message.startswith(f"off-site copy {copy.name}") else f"off-site copy {copy.name}: {message}"


def no_space(copy, location) -> TravelsyncError:
    return TravelsyncError(f"off-site copy {copy.name}: no space left on {location}",
                           hint="the partial snapshot is kept and the next `offsite sync` resumes it; free space "
                                "there, or keep fewer snapshots (`keep:`)")


def _check_encryption(target, copy) -> None:
    """A copy made with encryption none is never filled with ciphertext, nor the reverse."""
    from travelsync.errors import ConfigError

    found = encryption_of(target)
    if found == "":  # never a copy's retention on a main repository (the home one by another name?)
        raise ConfigError(f"off-site copy {copy.name}: {target.location} is a travelsync repository, not an "
                          "off-site copy (its travelsync.repo has no offsite_encryption); nothing was changed",
                          hint="point the entry at an empty folder, or at a copy made by `offsite sync`")
    if found is not None and found != copy.encryption:
        raise ConfigError(f"off-site copy {copy.name}: {target.location} was made with encryption: {found}, the "
                          f"configuration says {copy.encryption}",
                          hint="point the entry at a new, empty folder, or set encryption back")


def _dry_run(config, copy, target, home_snapshots, report) -> SyncReport:
    """What a real run would copy (and link) and what the copy's retention would then delete."""
    from travelsync.repository.retention import plan_retention

    present = [s.id for s in target.snapshots()] + list(target.damaged) if target.exists() else []
    steps = plan_sync(home_snapshots, present)
    report.copied = [s.snapshot_id for s in steps]
    report.links = {s.snapshot_id: s.link_dest for s in steps}
    report.not_copied = not_copied(home_snapshots, present)
    by_id = {s.id: s for s in home_snapshots}
    after = (target.snapshots() if target.exists() else []) + [by_id[s.snapshot_id] for s in steps]
    if after:
        plan = plan_retention(after, copy.keep, frozenset(), after[-1].id, _zone(config))
        report.deleted = list(plan.delete)
        report.latest = after[-1].id
    return report


def _zone(config):
    from travelsync.schedule.slots import zone_for

    return zone_for(config.schedule)


def _sync(config, copy, home, target, home_snapshots, report, stop, notice, on_progress, sleep, session) -> None:
    if target.location.is_remote:  # a killed run's rsync may still be writing there
        from travelsync.rsync.leftovers import end_stale_receivers

        ended = end_stale_receivers(target.store.run, target.store.absolute(layout.PARTIAL))
        if ended:
            notice(f"ended {ended} rsync process(es) an earlier, stopped run left writing into {target.location}")
    target.overview(refresh=True)  # as it is now that the lock is held
    if not target.exists():
        _create(target, copy, home)
    if session is not None:
        session.check_copy(target)
    present = [s.id for s in target.snapshots()] + list(target.damaged)
    for problem in target.problems:
        report.warnings.append(f"off-site copy {copy.name}: {problem}")
    steps = plan_sync(home_snapshots, present)
    report.not_copied = not_copied(home_snapshots, present)
    by_id = {s.id: s for s in home_snapshots}
    for step in steps:
        stop.check()
        with home.reading(step.snapshot_id):  # a home prune leaves it while it is copied
            resumed = _prepare_partial(target, step.snapshot_id)
            if resumed:
                report.resumed = step.snapshot_id
                notice(f"resuming the interrupted copy of {step.snapshot_id}")
            for result in _transfer(config, copy, home, target, step, stop, on_progress, sleep, notice, session,
                                    by_id[step.snapshot_id]):
                report.files_transferred += result.stats.files_transferred
                report.bytes_transferred += result.stats.literal_data
            stop.check()  # never commit without the lock
            document = home.store.read(f"{layout.SNAPSHOTS}/{step.snapshot_id}/{layout.SNAPSHOT_FILE}")
            if session is not None:
                document = session.public_document(by_id[step.snapshot_id])
            target.store.commit(target.partial_path(step.snapshot_id), document,
                                f"{layout.SNAPSHOTS}/{step.snapshot_id}", layout.LATEST)
        target.overview(refresh=True)
        report.copied.append(step.snapshot_id)
        report.links[step.snapshot_id] = step.link_dest
        notice(f"copied {step.snapshot_id} to {copy.name}")
    _latest_on_newest(target)
    newest = target.latest()
    report.latest, report.latest_started = (newest.id, newest.started) if newest else (None, None)


def _create(target, copy, home) -> None:
    """A new copy: snapshots/, partial/ and travelsync.repo (which says the copy's encryption)."""
    import socket

    target.check_format(missing_ok=True)
    target.store.makedirs(layout.SNAPSHOTS)
    target.store.makedirs(layout.PARTIAL)
    text = repo_file_text(clock.now(home.environ), home.source_host() or socket.gethostname(), copy.encryption)
    target.store.write_atomic(layout.REPO_FILE, text.encode())
    target.overview(refresh=True)


def _prepare_partial(target, snapshot_id: str) -> bool:
    """partial/<id> ready; leftovers of other snapshots (an interrupted run's, when the home
    snapshot it copied was pruned meanwhile, or a retention's `.deleting`) removed. True when
    partial/<id> was there already: its files are reused."""
    resumed = False
    for name in target.partials():
        if name == snapshot_id:
            resumed = True
        else:
            target.remove(target.partial_path(name))
    target.store.makedirs(target.partial_path(snapshot_id))
    return resumed


def _transfer(config, copy, home, target, step, stop, on_progress, sleep, notice, session, info):
    """rsync one snapshot into the copy's partial (arguments.py's two passes); their results."""
    with _source(home, step, session, info) as (source, attributes, exclude, inner):
        destination = target.location.child(target.partial_path(step.snapshot_id), *inner)
        link = (target.store.absolute("/".join([layout.SNAPSHOTS, step.link_dest, *inner]))
                if step.link_dest else None)
        return [_run(argv, config, copy, target, step, stop, on_progress, sleep, notice)
                for argv in _arguments(config, home, target, source, destination, link, attributes, exclude,
                                       on_progress)]


def _run(argv, config, copy, target, step, stop, on_progress, sleep, notice):
    """One rsync pass, its transport failures retried (rsync/retry.py, the `rsync:` policy)."""
    from travelsync.backup.outcome import Outcome, classify
    from travelsync.rsync.retry import RetryPolicy, with_retries
    from travelsync.rsync.run import run_rsync

    def attempt(_number):
        stop.check()
        result = run_rsync(argv, on_progress=on_progress, cancel=stop)
        stop.check()
        return result

    def on_retry(result, delay):
        notice(f"rsync transport failure (exit {result.exit_code}: {result.error_summary()}); retrying in {delay:g} s")

    policy = RetryPolicy.of(config.rsync)
    result = with_retries(attempt, policy, is_transport=lambda result: classify(result) is Outcome.TRANSPORT,
                          on_retry=on_retry, pause=lambda seconds: stop.pause(seconds, sleep))
    outcome = classify(result)
    if outcome is Outcome.NO_SPACE:
        raise no_space(copy, target.location)
    if outcome is Outcome.OK:
        return result
    if outcome is Outcome.TRANSPORT:
        raise TemporaryError(f"{target.location} unreachable: rsync exit {result.exit_code}: {result.error_summary()} "
                             f"(after {policy.retries} retries; the copy's snapshots untouched, the partial kept)")
    if outcome is Outcome.KILLED:
        raise TravelsyncError(f"off-site copy {copy.name}: rsync was killed by signal {result.signal} while "
                              f"copying {step.snapshot_id}; the next run resumes it")
    raise TravelsyncError(f"off-site copy {copy.name}: rsync failed copying {step.snapshot_id} "
                          f"(exit {result.exit_code}): {result.error_summary()}",
                          hint="the partial snapshot is kept; the next run resumes it")


def _arguments(config, home, target, source, destination, link, attributes, exclude, on_progress):
    from travelsync.offsite.arguments import snapshot_copy_passes

    far = target if target.location.is_remote else home
    ssh = getattr(far.store, "ssh", config.ssh)  # the shared connection when one is open
    return snapshot_copy_passes(config.rsync, ssh, source, destination, link_dest=link, attributes=attributes,
                                progress=on_progress is not None, exclude=exclude)


class _source:
    """Context manager: (what rsync copies, keep ACLs/xattrs?, excludes, the folder under the
    copy's snapshot it goes to). Plain: the home snapshot folder itself, snapshot.json left
    for the commit, -A/-X only when the snapshot may hold ACLs or extended attributes (its
    record says whether: backup/attributes.py; reading them is a third of rsync's time on
    unchanged files); encrypted: its gocryptfs -reverse view (which has none), into data/."""

    def __init__(self, home, step, session, info):
        self.home, self.step, self.session, self.info = home, step, session, info
        self.view = None

    def __enter__(self):
        folder = self.home.location.child(layout.SNAPSHOTS, self.step.snapshot_id)
        if self.session is None:
            return folder, self.info.extended_attributes is not False, (f"/{layout.SNAPSHOT_FILE}",), ()
        self.view = self.session.reverse(folder.path)
        from travelsync.location import Location

        return Location(str(self.view.__enter__())), False, (), (layout.DATA,)

    def __exit__(self, *exc):
        if self.view is not None:
            return self.view.__exit__(*exc)
        return False


def _latest_on_newest(target) -> None:
    """`latest` names the copy's newest snapshot (a run killed between a commit's rename and
    its swap left it one behind: set right here, so a resumed run equals an uninterrupted one)."""
    snapshots = target.snapshots()
    named = (target.overview().latest or "").rstrip("/").rsplit("/", 1)[-1]
    if not snapshots or named == snapshots[-1].id:
        return
    link = f"{layout.SNAPSHOTS}/{snapshots[-1].id}"
    store = target.store
    if hasattr(store, "swap_symlink"):
        store.swap_symlink(layout.LATEST, link)
    else:
        import shlex

        temporary = f".{layout.LATEST}.offsite.tmp"
        store.run(f"cd -- {store.q('')} && rm -f -- {temporary} && ln -s -- {shlex.quote(link)} {temporary} && "
                  f"mv -T -- {temporary} {layout.LATEST} && sync .")
    target.overview(refresh=True)


def _retention(config, copy, target, report, notice) -> None:
    """The copy's `keep:` applied (repository/prune.py, under the copy's lock)."""
    from travelsync.repository.prune import prune

    result = prune(target, copy.keep, zone=_zone(config), notice=notice)
    report.deleted = list(result.deleted)
