"""Files that `return --sync-back` brings home take home's owner: that of the folder they land in.

rsync is told to keep no owner or group (`--no-owner --no-group`): run as root it would
otherwise give home's files the laptop user's name or number, and `git` then refuses a
repository as of "dubious ownership".  What rsync created therefore belongs to whoever ran
it; this module hands each copied file, and each folder the copy created, to the owner and
group of the folder it sits in.  Home's existing folders are never changed (rsync runs with
`--no-implied-dirs`).

The walk goes from the source's folder down with folder descriptors opened without following
symlinks, and changes owners relative to them: a folder swapped for a symlink meanwhile
cannot turn the change onto a file elsewhere.
"""

import errno
import os
from pathlib import PurePosixPath


def missing_folders(root: str, relative_paths) -> set[str]:
    """The folders (relative to `root`) on the way to each path that do not exist yet."""
    missing = set()
    for path in relative_paths:
        for folder in reversed(PurePosixPath(path).parents[:-1]):
            if str(folder) in missing or not os.path.lexists(os.path.join(root, folder)):
                missing.add(str(folder))
    return missing


def give_to_folder_owner(root: str, relative_paths, created_folders=frozenset()) -> int:
    """Give each path under `root`, and each folder of `created_folders` on its way, the owner
    and group of the folder holding it.  Return how many owners were changed.

    Not root: only the group can change (to one of the user's groups); a refusal is ignored,
    as what the user creates is theirs anyway."""
    changed = 0
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for path in relative_paths:
            changed += _walk(root_fd, PurePosixPath(path), created_folders)
    finally:
        os.close(root_fd)
    return changed


def _walk(root_fd: int, path: PurePosixPath, created_folders) -> int:
    changed, fds = 0, []
    folder_fd, so_far = root_fd, PurePosixPath()
    try:
        for part in path.parts[:-1]:
            so_far /= part
            if str(so_far) in created_folders:
                changed += _take_owner_of(folder_fd, part)
            try:
                folder_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder_fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    return changed  # a symlink (or nothing) on the way: not followed
                raise
            fds.append(folder_fd)
        return changed + _take_owner_of(folder_fd, path.name)
    finally:
        for fd in fds:
            os.close(fd)


def _take_owner_of(folder_fd: int, name: str) -> int:
    """Give entry `name` of the open folder that folder's owner and group (the entry itself,
    never a symlink's target). 1 when its owner changed."""
    folder = os.fstat(folder_fd)
    try:
        entry = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    if (entry.st_uid, entry.st_gid) == (folder.st_uid, folder.st_gid):
        return 0
    try:
        os.chown(name, folder.st_uid, folder.st_gid, dir_fd=folder_fd, follow_symlinks=False)
    except PermissionError:
        if os.geteuid() == 0:
            raise
        return 0
    return 1
