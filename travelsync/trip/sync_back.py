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

Mail in a Maildir is merged by message (trip/maildir.py): a laptop message whose unique name
or Message-ID is already in that Maildir folder at home is not copied (home fetched it from
the server too), the laptop renaming a message it read is not a deletion, and `tmp/` (mail
being delivered) is never copied. Every laptop deletion that stays undone at home is named.
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
    deleted_count: int = 0
    already_home: list = field(default_factory=list)  # Maildir messages home has: "<source>/<path>"
    already_home_count: int = 0

    def to_json(self, stamp: str) -> dict:
        return {"basis": self.basis, "deleted_count": self.deleted_count,
                "already_home": list(self.already_home), "already_home_count": self.already_home_count,
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
        changed, deleted, created = [], [], set()

        def on_item(code, name, changed=changed, deleted=deleted, created=created):
            name = name.rstrip("/")
            if code.startswith("*deleting"):
                deleted.append(name)
            elif code[1] == "f" and code[0] in "<>c":
                changed.append(name)
                if code[2:].startswith("+++"):  # not in the basis at all: new on the laptop
                    created.add(name)

        result = run_rsync(_dry_run_argv(config, common, laptop_folder, basis, group.insides), on_item=on_item)
        if result.exit_code not in (0, 24):
            raise TravelsyncError(f"comparing the laptop with {basis_id} failed: {result.error_summary()}")
        changed, home_has = _merge_mail(changed, created, laptop_folder, home_folder, config.ssh)
        plan.already_home_count += len(home_has)
        plan.already_home += [f"{group.source_name}/{p}" for p in home_has][:MAX_LISTED - len(plan.already_home)]
        deleted = _really_deleted(deleted, changed + home_has)
        plan.deleted_count += len(deleted)
        plan.deleted_on_laptop += [f"{group.source_name}/{p}" for p in deleted][:MAX_LISTED - len(plan.deleted_on_laptop)]
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


def _merge_mail(changed: list[str], created, laptop: Location, home: Location, ssh) -> tuple[list[str], list[str]]:
    """Split the laptop's changed files into (still to consider, Maildir messages home already
    has); laptop `tmp/` files are dropped (mail being delivered). Only a message new on the
    laptop (`created`: not in the basis) can be one home has: a message the laptop changed
    (a draft edited) goes the way of any changed file, a conflict when home changed it too."""
    from travelsync.trip.maildir import HEADER_LIMIT, maildir_file, message_id

    others, candidates = [], {}
    for path in changed:
        found = maildir_file(path)
        if found is None or (path not in created and found.sub != "tmp"):
            others.append(path)
        elif found.sub != "tmp":
            candidates[path] = found
    if not candidates:
        return others, []
    at_home: dict = {}  # Maildir folder → (unique names, Message-IDs read lazily)

    def home_index(folder):
        if folder not in at_home:
            names, files = set(), []
            for sub in ("cur", "new"):
                place = os.path.join(home.path, str(folder), sub)
                try:
                    entries = os.listdir(place)
                except OSError:
                    continue
                names |= {e.split(":", 1)[0] for e in entries}
                files += [os.path.join(str(folder), sub, e) for e in entries]
            at_home[folder] = [names, files, None]
        return at_home[folder]

    home_has, unmatched = [], []
    for path, found in candidates.items():
        if found.unique in home_index(found.folder)[0]:
            home_has.append(path)
        else:
            unmatched.append(path)
    if unmatched:
        laptop_ids = {p: message_id(h) for p, h in places.heads(laptop, unmatched, ssh, HEADER_LIMIT).items()}
        for path in unmatched:
            index = home_index(candidates[path].folder)
            if index[2] is None:  # home's Message-IDs in that folder, read once
                index[2] = {message_id(h) for h in places.heads(home, index[1], None, HEADER_LIMIT).values()} - {None}
            if laptop_ids.get(path) is not None and laptop_ids[path] in index[2]:
                home_has.append(path)
            else:
                others.append(path)
    return others, sorted(home_has)


def _really_deleted(deleted: list[str], still_on_laptop: list[str]) -> list[str]:
    """Laptop deletions minus Maildir renames: a message the laptop read moved from new/ to
    cur/ (or changed its flags) under the same unique name; it was not deleted."""
    from travelsync.trip.maildir import maildir_file

    present = set()
    for path in still_on_laptop:
        found = maildir_file(path)
        if found is not None:
            present.add((found.folder, found.unique))
    kept = []
    for path in deleted:
        found = maildir_file(path)
        if found is None or (found.folder, found.unique) not in present:
            kept.append(path)
    return kept


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
