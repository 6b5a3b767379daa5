"""`return --sync-back`: bring home what changed on the laptop during the trip.

The basis is the snapshot the laptop last received (finalize's, else prepare's).
1. A dry run laptop → basis lists what the laptop changed or created (deletions on the
   laptop are reported, never carried home).
2. Each such file is checked at home against the basis: unchanged at home → copied over it;
   changed at home too → both kept, the laptop's copy beside it as `NAME.laptop-<stamp>`.
3. Unless --dry-run, the copies run (one rsync for the plain copies of each source, one per
   conflicting file).  Home is this machine: the sources' paths are local.
4. What came home takes home's owner, that of the folder it lands in (trip/home_owner.py),
   never the laptop's user; home's existing folders keep their owner and mode.
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from travelsync.errors import TravelsyncError, UsageError
from travelsync.location import Location
from travelsync.restore import places, selection
from travelsync.restore.report import MAX_LISTED

CONFLICT_SUFFIX = ".laptop-{stamp}"
# Home's owners stay home's: rsync keeps no owner or group from the laptop (trip/home_owner.py
# then gives what came home the owner of its folder) and leaves home's existing folders alone.
HOME_KEEPS_ITS_OWNERS = ["--no-owner", "--no-group", "--no-implied-dirs"]


@dataclass
class SyncBackPlan:
    basis: str
    copy: dict = field(default_factory=dict)  # source name → [relative paths inside the source]
    conflicts: dict = field(default_factory=dict)  # source name → [relative paths]
    deleted_on_laptop: list = field(default_factory=list)  # "<source>/<path>", at most MAX_LISTED

    def to_json(self, stamp: str) -> dict:
        return {"basis": self.basis,
                "copy": [f"{name}/{p}" for name, items in self.copy.items() for p in items],
                "conflicts": [{"path": f"{name}/{p}", "laptop_copy": f"{name}/{p}{CONFLICT_SUFFIX.format(stamp=stamp)}"}
                              for name, items in self.conflicts.items() for p in items],
                "deleted_on_laptop": list(self.deleted_on_laptop)}


def classify(changed, home_stats: dict, basis_stats: dict, same) -> tuple[list, list]:
    """Split laptop-changed paths into (copy, conflicts): a conflict when home differs from the basis.

    Pure: `same(path)` says whether home's and the basis's copies hold the same bytes.
    """
    copy, conflicts = [], []
    for path in changed:
        home, basis = home_stats.get(path), basis_stats.get(path)
        if home is None and basis is None:
            copy.append(path)  # new on the laptop only
        elif home is not None and basis is not None and home == basis and same(path):
            copy.append(path)
        else:
            conflicts.append(path)
    return copy, conflicts


def _dry_run_argv(config, common, laptop: Location, basis: Location, insides) -> list[str]:
    from travelsync.restore.arguments import source_arguments

    return common + ["--relative", "--delete", "--dry-run", "--itemize-changes", "--"] + \
        source_arguments(laptop.rsync_spec(), insides) + [basis.rsync_spec(trailing_slash=True)]


def plan_sync_back(config, repository, basis_id: str, paths, target: Location) -> SyncBackPlan:
    from travelsync.rsync.args import common_args
    from travelsync.rsync.run import run_rsync

    if config.repository.is_remote:
        raise UsageError("--sync-back needs the repository on this machine (it compares against the snapshot)")
    plan = SyncBackPlan(basis_id)
    common = [a for a in common_args(config.rsync, config.ssh, target.is_remote, progress=False)
              if a != "--numeric-ids"]
    for group in selection.select(paths, config):
        laptop_folder = group.laptop_folder(target)
        home_folder = Location(str(group.source_path))
        if not target.is_remote and os.path.realpath(laptop_folder.path) == os.path.realpath(home_folder.path):
            raise UsageError("the laptop folder is home's own folder here: run `return --sync-back` at home, "
                             "with laptop.host naming the laptop")
        basis = repository.data_location(basis_id, group.source_name)
        changed = []

        def on_item(code, name, changed=changed, group=group):
            name = name.rstrip("/")
            if code.startswith("*deleting"):
                if len(plan.deleted_on_laptop) < MAX_LISTED:
                    plan.deleted_on_laptop.append(f"{group.source_name}/{name}")
            elif code[1] == "f" and code[0] in "<>c":
                changed.append(name)

        result = run_rsync(_dry_run_argv(config, common, laptop_folder, basis, group.insides), on_item=on_item)
        if result.exit_code not in (0, 24):
            raise TravelsyncError(f"comparing the laptop with {basis_id} failed: {result.error_summary()}")
        home_stats = places.stat_files(home_folder, changed, config.ssh)
        basis_stats = places.stat_files(basis, changed, config.ssh)

        def same(path, home_folder=home_folder, basis=basis):
            import filecmp

            return filecmp.cmp(Path(home_folder.path, path), Path(basis.path, path), shallow=False)

        copy, conflicts = classify(changed, home_stats, basis_stats, same)
        _refuse_links_at_home(home_folder, group.source_name, copy + conflicts)
        if copy:
            plan.copy[group.source_name] = copy
        if conflicts:
            plan.conflicts[group.source_name] = conflicts
    return plan


def _refuse_links_at_home(home_folder: Location, source_name: str, paths) -> None:
    """Refuse (UsageError, exit 2) a file whose folder at home is reached through a symlink:
    the copy (run as root, perhaps) would land wherever the link points, or replace home's
    link with a folder.  Nothing is copied; the message names the paths."""
    linked = places.beneath_links(home_folder, paths, None)
    if linked:
        shown = ", ".join(f"{source_name}/{p}" for p in linked[:5]) + (" …" if len(linked) > 5 else "")
        raise UsageError(f"{shown}: a folder on the way is a symlink at home; sync-back writes home only into real "
                         "folders, so nothing was copied",
                         hint="copy these files by hand, or make the folder at home a real folder again")


def apply_sync_back(config, plan: SyncBackPlan, target: Location, stamp: str) -> dict:
    """Copy the plan's files home; return counts {files_transferred, bytes_transferred, seconds}."""
    from travelsync.rsync.args import common_args
    from travelsync.rsync.run import run_rsync

    from travelsync.trip.home_owner import give_to_folder_owner, missing_folders

    common = [a for a in common_args(config.rsync, config.ssh, target.is_remote, progress=False)
              if a != "--numeric-ids"] + HOME_KEEPS_ITS_OWNERS
    totals = {"files_transferred": 0, "bytes_transferred": 0, "seconds": 0.0}

    def run(argv):
        result = run_rsync(argv)
        if result.exit_code not in (0, 24):
            raise TravelsyncError(f"copying back home failed: {result.error_summary()} (rsync exit {result.exit_code})")
        totals["files_transferred"] += result.files_transferred
        totals["bytes_transferred"] += result.bytes_transferred
        totals["seconds"] += result.seconds

    for name in set(plan.copy) | set(plan.conflicts):
        source = config.source(name)
        laptop_folder = target.child(str(PurePosixPath(str(source.path)).relative_to("/")))
        items = plan.copy.get(name, [])
        besides = [path + CONFLICT_SUFFIX.format(stamp=stamp) for path in plan.conflicts.get(name, [])]
        created = missing_folders(str(source.path), items + besides)
        if items:
            with tempfile.NamedTemporaryFile("wb", prefix="travelsync-sync-back-") as listing:
                listing.write(b"".join(p.encode() + b"\0" for p in items))
                listing.flush()
                run(common + ["--from0", f"--files-from={listing.name}", "--"] +
                    [laptop_folder.rsync_spec(trailing_slash=True), str(source.path).rstrip("/") + "/"])
        for path, beside in zip(plan.conflicts.get(name, []), besides):
            Path(str(source.path), beside).parent.mkdir(parents=True, exist_ok=True)
            run(common + ["--"] + [laptop_folder.rsync_spec(path), str(Path(str(source.path), beside))])
        give_to_folder_owner(str(source.path), items + besides, created)
    return totals
