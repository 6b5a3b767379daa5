"""Whether a snapshot holds any ACL or extended attribute, found once when it is taken.

rsync's `-A` and `-X` read every file's ACL and attribute list on both ends of a transfer:
about a third of a finalize's time for 50,000 files (0.87 s with them, 0.52 s without). A
home folder rarely has any, so a backup into a local repository looks once, before the
commit, and records the answer in snapshot.json; a restore of a snapshot known to hold none
leaves the two flags out (restore/runner.py). ACLs are attributes too (`system.posix_acl_*`),
so one `listxattr` per entry answers for both.

The same look decides whether the backup's own rsync carries them (`must_carry`): -A/-X cost
rsync an ACL and attribute read per file on the sender and a compare and write on the receiver,
work wasted on a home that holds none. A copy without them is checked by a look at the home
after it (`any_in_sources`); whatever holds one then is copied again with them, so every ACL
and attribute the home holds when the copy ends is in the snapshot.
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


def any_in_sources(sources, *, look=any_extended_attributes) -> bool:
    """Whether any configured source (its whole tree, excluded folders too: on the safe side)
    holds an ACL or extended attribute."""
    return any(look(str(source.path)) for source in sources)


def must_carry(sources, newest, *, full: bool, remote: bool, resumed: bool, look=any_extended_attributes) -> bool:
    """Whether the backup's rsync must carry ACLs and attributes (-A, -X). Yes for a remote
    repository (not looked at), a resumed partial (an earlier run may have copied some), or when
    the newest snapshot held some or is not known to hold none (`newest.extended_attributes`).
    Else a look at the sources decides before a full copy or the first snapshot (copying it
    again would cost the whole copy); an incremental after a snapshot that held none goes
    without, and the look after the copy catches a home that gained some since."""
    if remote or resumed or (newest is not None and newest.extended_attributes is not False):
        return True
    if full or newest is None:
        return any_in_sources(sources, look=look)
    return False
