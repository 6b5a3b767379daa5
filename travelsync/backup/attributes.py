"""Whether a snapshot holds any ACL or extended attribute, found once when it is taken.

rsync's `-A` and `-X` read every file's ACL and attribute list on both ends of a transfer:
about a third of a finalize's time for 50,000 files (0.87 s with them, 0.52 s without). A
home folder rarely has any, so a backup into a local repository looks once, before the
commit, and records the answer in snapshot.json; a restore of a snapshot known to hold none
leaves the two flags out (restore/runner.py). ACLs are attributes too (`system.posix_acl_*`),
so one `listxattr` per entry answers for both.
"""

import errno
import os

# A file system without attribute support holds none: that answer is "no", not "unknown".
_UNSUPPORTED = {errno.ENOTSUP, errno.EOPNOTSUPP}


def any_extended_attributes(folder: str, *, listxattr=os.listxattr, scandir=os.scandir) -> bool:
    """True when `folder` or anything beneath it carries an ACL or extended attribute, or
    when that cannot be told (an entry that cannot be read): only a sure "none" lets a
    restore skip -A/-X. Stops at the first one found. Symlinks are looked at, not followed."""
    stack = [folder]
    try:
        if _has(folder, listxattr):
            return True
        while stack:
            with scandir(stack.pop()) as entries:
                for entry in entries:
                    if _has(entry.path, listxattr):
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
    except OSError:
        return True
    return False


def _has(path: str, listxattr) -> bool:
    try:
        return bool(listxattr(path, follow_symlinks=False))
    except OSError as error:
        if error.errno in _UNSUPPORTED:
            return False
        raise
