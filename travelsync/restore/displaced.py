"""What a restore moved aside, and which of it is worth the person's attention.

rsync's `--backup-dir` moves every laptop file the restore overwrites or deletes.  Many of
those are merely the older copy that an earlier restore of this trip put there (a mail that
moved from new/ to cur/ at home): such a file is identical to a snapshot the trip keeps, so
it is removed from the displaced folder.  What stays is what only the laptop had.  After a
crash, rsync's own temporary files (`.name.XXXXXX`) are also left behind and removed here.
"""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from travelsync.restore import places

RSYNC_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class Reference:
    """A snapshot folder a displaced file may equal: (source name, source path, data Location)."""

    source_name: str
    source_path: str
    data: object  # Location of <snapshot>/data/<source>


def is_rsync_temporary(relative: str, existing_names) -> bool:
    """`Mail/cur/.1.AbC123` is rsync's temporary copy of `Mail/cur/1` when that name exists."""
    path = PurePosixPath(relative)
    match = RSYNC_TEMPORARY.match(path.name)
    return bool(match) and str(path.parent / match.group("name")) in existing_names


def tidy(folder, references, ssh, *, after_crash: bool = False) -> list[str]:
    """Remove displaced files identical to a reference snapshot (and, after a crash, rsync's
    temporary files); return what is left, relative to `folder`, sorted. One pass over the
    folder (places.sweep: one ssh session for a laptop over ssh)."""
    removable = set()

    def decide(found):
        for reference in references:
            prefix = str(PurePosixPath(reference.source_path).relative_to("/"))
            inside = {rel: places.relative_to(rel, prefix) for rel in found}
            inside = {rel: sub for rel, sub in inside.items() if sub is not None and rel not in removable}
            if not inside:
                continue
            wanted = set(inside.values())
            if after_crash:
                wanted |= {str(PurePosixPath(s).parent / RSYNC_TEMPORARY.match(PurePosixPath(s).name).group("name"))
                           for s in inside.values() if RSYNC_TEMPORARY.match(PurePosixPath(s).name)}
            in_snapshot = places.stat_files(reference.data, sorted(wanted), ssh)
            for rel, sub in inside.items():
                if after_crash and is_rsync_temporary(sub, in_snapshot):
                    removable.add(rel)
                elif places.same_file(folder.child(rel), reference.data.child(sub), found[rel], in_snapshot.get(sub)):
                    removable.add(rel)
        return sorted(removable)

    found = places.sweep(folder, decide, ssh)
    return sorted(set(found) - removable)


def check_real_place(groups, target, folder: str, ssh) -> None:
    """Refuse a displaced folder that is not where its name says (UsageError, exit 2).

    selection.check_displaced_outside compares texts; here the laptop is asked where the
    folder really is: its base (`.travelsync-displaced`) and the stamp folder must not be
    symlinks, nothing below the stamp folder may lead elsewhere, and the real folder must
    not lie inside a restored path (the restore's --delete and the next run would reach the
    files moved aside, nesting them deeper each time)."""
    from travelsync.errors import UsageError
    from travelsync.restore.arguments import backup_dir_for

    base = str(PurePosixPath(folder).parent)
    backup_dirs = [backup_dir_for(folder, group.source_path) for group in groups]
    restored = [str(PurePosixPath(group.target_folder(target.path)) / inside)
                for group in groups for inside in group.insides]
    answers = places.resolve(target, [base, folder, *backup_dirs, *restored], ssh)
    (real_base, base_link), (real_folder, folder_link) = answers[:2]
    for shown, link, real in ((base, base_link, real_base), (folder, folder_link, real_folder)):
        if link:
            raise UsageError(f"the displaced folder {shown} on {target} is a symlink (to {real}): laptop files are "
                             "only moved aside into a real folder",
                             hint="remove the link, or set laptop.displaced to a folder outside laptop.paths")
    real_backups = [real for real, _ in answers[2:2 + len(backup_dirs)]]
    for group, backup_dir, real in zip(groups, backup_dirs, real_backups):
        expected = str(PurePosixPath(real_folder) / PurePosixPath(str(group.source_path)).relative_to("/"))
        if real != expected:
            raise UsageError(f"the displaced folder {backup_dir} on {target} leads through a symlink to {real}",
                             hint=f"remove the link inside {folder}")
    for path, (real_restored, _) in zip(restored, answers[2 + len(backup_dirs):]):
        inside = PurePosixPath(real_restored)
        for real in (real_folder, *real_backups):
            if PurePosixPath(real) == inside or inside in PurePosixPath(real).parents:
                raise UsageError(f"the displaced folder {folder} on {target} really is {real}, inside the restored "
                                 f"path {path}", hint="set laptop.displaced to a folder outside laptop.paths, "
                                                      "and remove the link that leads there")
