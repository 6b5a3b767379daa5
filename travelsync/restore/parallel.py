"""Several rsyncs at once for a local restore, when that is sure to give the same result.

One rsync per laptop path (`home/Mail`, `home/src`…), two or more at a time: on two cores a
finalize of 50,000 files took 0.46–0.64 s this way against 0.81–0.83 s for one rsync (most of
rsync's time is listing and comparing, spread over its processes and system calls).

It is the same result only when:
- no hard link can be split: rsync keeps hard links (-H) among the files of one run, so the
  snapshot's record must show no hard link at all (its backup counted the listing's
  "name => leader" lines; a snapshot from before that count is restored by one rsync);
- the runs never create the same folder: every path is one name under its source (so they
  share no parent rsync would make), and the folders they share (the laptop folder and
  the displaced folder's base) exist before they start; rsync fails now and then when two
  of its processes create one backup folder at once;
- both ends are on this machine and it is no dry run (its list would interleave).
A terminal's bar shows the runs' progress added up (rsync/progress.py `Combined`).
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from travelsync.restore.arguments import backup_dir_for

MAX_RSYNCS = 4  # past the cores, more rsyncs only contend for the disk


def workers(config, repository, plan) -> int:
    """How many rsyncs may run at once for `plan` (1: the plain way)."""
    insides = [inside for group in plan.groups for inside in group.insides]
    if plan.dry_run or plan.target.is_remote or config.repository.is_remote or len(insides) < 2:
        return 1
    if plan.flat or plan.displaced_suffix:  # into a plain folder, or in place: the plain way
        return 1
    if any(len(PurePosixPath(inside).parts) != 1 for inside in insides):
        return 1
    if repository.get(plan.snapshot_id).rsync.get("hard_link_followers") != 0:
        return 1  # hard links in the snapshot, or not known
    return max(1, min(len(insides), os.cpu_count() or 1, MAX_RSYNCS))


def shared_folders(plan) -> list[str]:
    """What the runs of one source share: its laptop folder and its place in the displaced folder."""
    folders = []
    for group in plan.groups:
        folders += [group.laptop_folder(plan.target).path, _displaced_base(plan, group)]
    return folders


def _displaced_base(plan, group) -> str:
    """Where rsync's --backup-dir puts what it displaces from this source (restore/arguments.py)."""
    return backup_dir_for(plan.displaced_folder, group.source_path)


def make_folders(paths) -> list[str]:
    """Create the missing folders of `paths` (as rsync --mkpath would); return those made, in order."""
    made = []
    for path in paths:
        missing = []
        while not os.path.isdir(path) and path not in ("/", ""):
            missing.append(path)
            path = os.path.dirname(path)
        for folder in reversed(missing):
            try:
                os.mkdir(folder)
            except FileExistsError:
                continue
            made.append(folder)
    return made


def remove_if_empty(made, plan) -> None:
    """Take back the folders `make_folders` made that nothing was put in (deepest first), and
    the displaced folder's empty base even when a run before a crash made it: with nothing
    displaced, no displaced folder is left, as after a single rsync."""
    chain = []
    stop = os.path.dirname(plan.displaced_folder.rstrip("/"))  # the folder of all displaced folders
    for group in plan.groups:
        folder = _displaced_base(plan, group)
        while folder.startswith(stop + "/"):
            chain.append(folder)
            folder = os.path.dirname(folder)
    for folder in [*reversed(made), *chain]:
        try:
            os.rmdir(folder)
        except OSError:
            pass


def run_each(argvs, run_one, count: int) -> list:
    """run_one(argv) for every argv, `count` at a time; the results in the order of `argvs`."""
    if count <= 1:
        return [run_one(argv) for argv in argvs]
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="restore") as pool:
        return list(pool.map(run_one, argvs))
