"""Run a restore: resolve the snapshot, check the paths, rsync each source, tidy what was displaced.

    plan = plan_restore(config, repository, "latest", ["home/Mail"], target=None, stamp=...)
    report = run_restore(config, repository, plan, on_progress=bar.update)

The side effects live here; argument building and path rules are pure modules beside it.
"""

import time
from dataclasses import dataclass
from datetime import timezone

from travelsync.errors import TemporaryError, TravelsyncError, UsageError
from travelsync.exitcodes import ExitStatus
from travelsync.location import Location, parse_location
from travelsync.restore import arguments, displaced, parallel, places, selection
from travelsync.restore.report import MAX_LISTED, RestoreReport
from travelsync.rsync.exits import VANISHED, is_transport_failure



@dataclass(frozen=True)
class RestorePlan:
    snapshot_id: str
    groups: tuple  # SourceGroup
    paths: tuple[str, ...]  # normalised texts, for reports
    target: Location  # the root on the laptop (or --to)
    displaced_folder: str  # absolute, on the target's machine
    dry_run: bool = False
    chosen: str = ""  # how a time in --from was read ("the newest of 2026-11-30"); "" for a name
    flat: bool = False  # into a plain folder (--to): each path under its own last name
    displaced_suffix: str | None = None  # in place: displaced files kept beside themselves


def resolve_snapshot(repository, choice, zone=None):
    """`latest` / `last-full` / an id, or a time as people say it (`yesterday`, a date, a
    date-time, an age: repository/choose.py, in `zone`) → the SnapshotInfo; UsageError (2)
    when there is none. `choice`: the text, or a Choice already read (read_choice)."""
    from travelsync.repository.choose import Choice, pick

    repository.check_format()  # a repository of another format is named as such, never misread
    wanted = choice if isinstance(choice, Choice) else read_choice(repository, choice, zone)
    if wanted.name is None:
        return pick(wanted, repository.snapshots(), zone or timezone.utc)
    choice = wanted.name
    if choice == "latest":
        problem = repository.latest_problem()
        if problem:  # never restore an older snapshot than `latest` without saying so
            raise TravelsyncError(problem, hint="`restore --from <id>` names the snapshot to restore")
        found = repository.latest()
        what = "no complete snapshot in the repository yet"
    elif choice == "last-full":
        found = repository.last_full()
        what = "no complete full snapshot in the repository yet"
    else:
        try:
            found = repository.get(choice)
        except (KeyError, LookupError, TravelsyncError):
            found = None
        what = f"no complete snapshot {choice!r} in the repository"
    if found is None:
        raise UsageError(what, hint="`travelsync snapshots` lists them; `travelsync backup` takes one")
    return found


def read_choice(repository, choice: str | None, zone=None):
    """`--from`'s text as a repository/choose.py Choice, read at the repository's clock."""
    from travelsync import clock
    from travelsync.repository import layout
    from travelsync.repository.choose import parse_choice

    return parse_choice(choice or "latest", clock.now(repository.environ), zone or timezone.utc,
                        is_id=layout.is_snapshot_id)


def target_location(config, to: str | None, option: str = "--to") -> Location:
    """The laptop root (`laptop.host` + `laptop.root`), or a folder given on the command line
    (`--to`/`--root`: a folder or [user@]host:/folder)."""
    if not to:
        return config.laptop.location
    place = parse_location(to)
    if not place.path.startswith("/"):
        raise UsageError(f"{option} {to!r}: give an absolute folder (cron and ssh have no current folder)")
    return place


def plan_restore(config, repository, choice, paths, *, to=None, root=None, in_place=False, stamp: str,
                 dry_run=False, snapshot_id: str | None = None) -> RestorePlan:
    """Check everything before anything is written: snapshot, path shapes, paths in the snapshot,
    one end local, the target reachable.  Raise UsageError (2) or TemporaryError (75).

    Where the paths land: under the laptop's root (default), under `root` (--root DIR, the
    same layout elsewhere), directly in the plain folder `to` (--to DIR: each path under its
    own last name), or `in_place`: back where they were on this machine, each displaced file
    kept beside itself (`<name>.travelsync-<stamp>`)."""
    if sum(bool(x) for x in (to, root, in_place)) > 1:
        raise UsageError("--to, --root and --in-place each say where the restore goes: give one")
    groups = selection.select(paths, config)
    repository.check_format()  # a repository of another format is named as such, never misread
    zone = _zone(config)
    wanted = None if snapshot_id else read_choice(repository, choice, zone)  # read once: an age reads the clock
    snapshot = repository.get(snapshot_id) if snapshot_id else resolve_snapshot(repository, wanted, zone)
    if snapshot is None:
        raise UsageError(f"snapshot {snapshot_id} is no longer in the repository")
    target = Location("/") if in_place else target_location(config, to or root, "--to" if to else "--root")
    if not (to or root or in_place):
        _refuse_the_live_home(config, repository, groups, target)
    if target.is_remote and config.repository.is_remote:
        raise UsageError("the repository and the laptop are both remote: rsync needs one end on this machine",
                         hint="run travelsync on the laptop (laptop.host: local) or where the repository is")
    for group in groups:
        data = repository.data_location(snapshot.id, group.source_name)
        absent = places.missing(data, [str(i) for i in group.insides], config.ssh)
        if absent:
            shown = ", ".join(f"{group.source_name}/{a}".rstrip("/.") for a in absent)
            raise UsageError(f"not in snapshot {snapshot.id}: {shown}",
                             hint="paths are <source name>/<path inside that source>, as in the snapshot's data/ folder")
        places.refuse_links_on_the_way(data, group, snapshot.id, config.ssh)
    texts = tuple(f"{g.source_name}/{i}".removesuffix("/.") for g in groups for i in g.insides)
    if to:
        groups = selection.flatten(groups)
    suffix = f".travelsync-{stamp}" if in_place else None
    folder = "" if in_place else selection.displaced_folder(target.path, config.laptop.displaced, stamp)
    if not in_place:
        selection.check_displaced_outside(groups, target.path, folder)
    if target.is_remote:
        _import_while_waiting("travelsync.rsync.run")
    places.check_reachable(target, config.ssh)
    if not in_place:
        displaced.check_real_place(groups, target, folder, config.ssh)
    chosen = "" if wanted is None else wanted.described
    return RestorePlan(snapshot.id, groups, texts, target, folder, dry_run, chosen, bool(to), suffix)


def _zone(config):
    """The zone dates and times in `--from` are read in: the schedule's (design §5)."""
    from travelsync.schedule.slots import zone_for

    return zone_for(config.schedule)


def _refuse_the_live_home(config, repository, groups, target: Location) -> None:
    """On the home machine itself, `laptop: {host: local, root: /}` (the starter config's
    default) would restore the snapshot over the live home: refuse a laptop folder that is a
    source folder or lies inside one, unless --to names the target explicitly. On the laptop
    (another host than the one the repository backs up) the same paths are the point."""
    import socket
    from pathlib import PurePosixPath

    if target.is_remote:
        return
    home_host = repository.source_host()
    if home_host is not None and home_host != socket.gethostname():
        return
    for group in groups:
        folder = PurePosixPath(group.laptop_folder(target).path)
        for source in config.sources:
            if folder == PurePosixPath(source.path) or PurePosixPath(source.path) in folder.parents:
                raise UsageError(
                    f"this is the home machine ({socket.gethostname()}) and the laptop folder {folder} is inside "
                    f"the source {source.name!r} ({source.path}): the restore would overwrite the live home",
                    hint="set laptop.host to the laptop ([user@]host) or laptop.root to another folder; or say "
                         "where: --root DIR (the same layout), --to DIR (a plain folder) or --in-place")


def _import_while_waiting(module: str) -> None:
    """Import `module` in a thread: the ssh login that follows keeps this one waiting for
    about 0.2 s, and rsync's driver (with `sh` and the asyncio it pulls in, about 50 ms)
    is needed right after it."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), name="import", daemon=True).start()


def restore_commands(config, repository, plan: RestorePlan, *, closed_paths: bool = False,
                     progress: bool = True, split: bool = False, ssh=None) -> list[list[str]]:
    """One rsync argv per source group, or per path with `split` (restore/parallel.py); pure
    given the repository's locations.
    `closed_paths`: rsync may skip its symlink-race walk (see closed_paths below); `progress`:
    ask for --info=progress2 (only for a bar on a terminal: it adds a line to rsync's output
    for every file it sends); `ssh`: the settings for the far end (default: `ssh:` as configured)."""
    from travelsync.rsync.args import common_args

    remote = plan.target.is_remote or config.repository.is_remote
    # Owners by name, not number: the laptop's marc need not have home's uid.
    # Itemized lines only for a dry run (the list it shows): a real restore streams no per-file
    # output, so the wrapper costs the same however many files change.
    # A snapshot known to hold no ACL and no extended attribute needs no -A/-X: the laptop's
    # copy would get none either way (a laptop file's own attributes are then left as they are).
    attributes = repository.get(plan.snapshot_id).extended_attributes is not False
    common = common_args(config.rsync, ssh or config.ssh, remote, itemize=plan.dry_run, closed_paths=closed_paths,
                         progress=progress, attributes=attributes)
    common = [a for a in common if a != "--numeric-ids"]
    extra_start = len(common) - len(config.rsync.extra_args)
    common, extra = common[:extra_start], common[extra_start:]
    commands = []
    for group in plan.groups:
        data = repository.data_location(plan.snapshot_id, group.source_name if group.data_folder is None
                                        else group.data_folder)
        destination = group.laptop_folder(plan.target)
        for insides in ([(inside,) for inside in group.insides] if split else [group.insides]):
            commands.append(arguments.restore_argv(
                common, data_spec=data.rsync_spec(), insides=insides,
                destination_spec=destination.rsync_spec(), displaced_folder=plan.displaced_folder,
                source_path=group.source_path, dry_run=plan.dry_run, extra=extra,
                displaced_suffix=plan.displaced_suffix))
    return commands


def closed_paths(config, plan: RestorePlan) -> bool:
    """Both ends on this machine and out of other users' reach (the repository, each restored
    folder on the laptop and the displaced folder): rsync/trusted_paths.py.  A folder restored
    whole gets the snapshot's mode and owner: only a folder above it may keep others out."""
    if plan.target.is_remote or config.repository.is_remote:
        return False
    from travelsync.rsync.trusted_paths import skip_symlink_walk

    folders = [group.laptop_folder(plan.target).path for group in plan.groups]
    whole = [group.laptop_folder(plan.target).path for group in plan.groups  # rsync sets their mode and owner
             if any(str(inside) == "." for inside in group.insides)]
    return skip_symlink_walk(config.rsync.program, [config.repository.path, *folders, plan.displaced_folder],
                             rewritten=whole)


def _run_with_retries(config, argv, *, on_item, on_progress, sleep=time.sleep):
    """One rsync run of a restore, tried again on transport failures (rsync/retry.py)."""
    from travelsync.rsync.retry import RetryPolicy, with_retries
    from travelsync.rsync.run import run_rsync

    return with_retries(lambda attempt: run_rsync(argv, on_item=on_item, on_progress=on_progress),
                        RetryPolicy.of(config.rsync), pause=sleep)


def run_restore(config, repository, plan: RestorePlan, *, on_progress=None, references=(),
                after_crash: bool = False) -> RestoreReport:
    """Restore the plan's paths. `references`: snapshot ids whose copies need not stay displaced
    (the trip's earlier restores); `after_crash`: also clear rsync's temporary leftovers.

    Raise TemporaryError (75) on transport failures, TravelsyncError (1) when rsync fails
    (23 names the files); exit 24 (vanished) becomes a warning.
    """
    report = RestoreReport(snapshot=plan.snapshot_id, target=str(plan.target), paths=list(plan.paths),
                           dry_run=plan.dry_run, displaced_folder=plan.displaced_folder)

    with repository.reading(plan.snapshot_id):  # prune leaves the snapshot while it is read
        return _restore(config, repository, plan, report, on_progress, references, after_crash)


def _restore(config, repository, plan: RestorePlan, report: RestoreReport, on_progress, references,
             after_crash: bool) -> RestoreReport:
    def on_item(code, name):
        report.change_count += 1
        if len(report.changes) < MAX_LISTED:
            report.changes.append(f"{code.strip()} {name}")

    started = time.monotonic()
    count = parallel.workers(config, repository, plan)
    argvs = restore_commands(config, repository, plan, closed_paths=closed_paths(config, plan),
                             progress=on_progress is not None, split=count > 1, ssh=_far_end_ssh(config, plan))
    made = parallel.make_folders(parallel.shared_folders(plan)) if count > 1 else []
    try:
        progress = [on_progress] * len(argvs)
        if on_progress is not None and count > 1:  # one bar for the runs at once
            from travelsync.rsync.progress import Combined

            combined = Combined(len(argvs), on_progress)
            progress = [combined.for_run(index) for index in range(len(argvs))]
        results = parallel.run_each(list(zip(argvs, progress)), lambda run: _run_with_retries(
            config, run[0], on_item=on_item, on_progress=run[1]), count)
        _account(report, plan, results)
        report.seconds = time.monotonic() - started
        if plan.displaced_suffix and not plan.dry_run:
            report.displaced = beside_copies(plan)
            if report.displaced:
                report.warnings.append(f"{len(report.displaced)} files that differed from the snapshot were kept "
                                       f"beside themselves as <name>{plan.displaced_suffix}")
        elif not plan.dry_run:
            report.displaced = tidy_displaced(config, repository, plan, references, after_crash)
            if report.displaced:
                report.warnings.append(f"{len(report.displaced)} laptop files that differ from the snapshot "
                                       f"were moved aside to {plan.displaced_folder}")
    finally:
        if count > 1:
            parallel.remove_if_empty(made, plan)
    return report


def _far_end_ssh(config, plan: RestorePlan):
    """For a remote end, the `ssh:` settings on the run's shared connection to it (shared_ssh.py):
    rsync then rides the connection the checks before it opened. None: both ends local."""
    far = plan.target if plan.target.is_remote else config.repository if config.repository.is_remote else None
    if far is None:
        return None
    from travelsync.shared_ssh import shared

    return shared(config.ssh, far.ssh_target)


def _account(report: RestoreReport, plan: RestorePlan, results) -> None:
    """Add each rsync run to the report; raise on the first that failed (in path order)."""
    for result in results:
        report.files_transferred += result.files_transferred
        report.bytes_transferred += result.bytes_transferred
        report.total_size += result.total_size
        report.deleted += result.stats.deleted
        if is_transport_failure(result):
            raise TemporaryError(f"restore to {plan.target} failed: {result.error_summary()} "
                                 f"(rsync exit {result.exit_code}); run it again to resume")
        if result.signal:
            raise TravelsyncError(f"rsync was stopped by signal {result.signal}; run the command again to resume")
        if result.exit_code == VANISHED:
            report.warnings.append(f"{result.vanished_count} files vanished from the snapshot during the restore")
        elif result.exit_code != 0:
            names = ", ".join(result.failed_files[:5])
            detail = f" ({result.failed_count} files failed: {names})" if names else ""
            hint = "the laptop's disk is full" if result.no_space else None
            first = next((line for line in result.error_lines if not line.startswith("rsync error:")),
                         result.error_summary())
            raise TravelsyncError(f"restore to {plan.target} failed: {first}{detail} (rsync exit {result.exit_code})",
                                  exit_status=ExitStatus.FAILURE, hint=hint)


def beside_copies(plan: RestorePlan) -> list[str]:
    """The displaced copies an in-place restore kept beside the files it replaced (local)."""
    import os

    found = []
    for group in plan.groups:
        for inside in group.insides:
            path = os.path.join(group.target_folder(plan.target.path), str(inside))
            if os.path.lexists(path + plan.displaced_suffix):
                found.append(path + plan.displaced_suffix)
            if os.path.isdir(path) and not os.path.islink(path):
                for folder, _dirs, names in os.walk(path):
                    found += [os.path.join(folder, n) for n in names if n.endswith(plan.displaced_suffix)]
    return found


def tidy_displaced(config, repository, plan: RestorePlan, references, after_crash: bool) -> list[str]:
    """List what the restore moved aside, minus copies identical to a snapshot of `references`."""
    folder = Location(plan.displaced_folder, plan.target.host, plan.target.user)
    wanted = list(dict.fromkeys([plan.snapshot_id, *references])) if (references or after_crash) else []
    refs = [displaced.Reference(g.source_name, str(g.source_path), repository.data_location(sid, g.source_name))
            for sid in wanted for g in plan.groups]
    return displaced.tidy(folder, refs, config.ssh, after_crash=after_crash)
