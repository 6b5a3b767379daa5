"""Whose repository is it: refuse one that a user other than root and ourselves could change.

Whoever can change the repository can change what root's `restore` puts on the laptop, so a
repository is used only when nobody but root and the user running travelsync (on the
repository's machine: the ssh user) can change it:

- every folder from / down to the repository belongs to one of them, and nobody else may
  write in it (no group or other write bit; an ACL that grants write shows there too);
- except a sticky folder such as /tmp (mode 1777, root's): others may write in it, but not
  rename or delete what is not theirs, so it is fine when the entry we pass through is root's
  or ours;
- the repository's own folder belongs to one of them and nobody else may write in it, sticky
  or not (in a sticky folder others could still add names: a `latest`, a partial snapshot);
- symlinks on the way are followed as the kernel follows them; each is an entry of the folder
  holding it, held to the same rule (in a sticky folder, another user's link is refused).

A missing tail is accepted: travelsync creates it, then checks again before using it (the
lock makes the folder first), so a folder another user made in between is refused then.

The walk is the one rsync/trusted_paths.py uses; `lstat`, `readlink` and `owner` (uid →
name) are given, so the same check runs on this machine and, through one ssh command, on
the repository's.
"""

import stat

from travelsync.rsync.trusted_paths import Unresolvable, resolve

OTHERS_WRITE = 0o022


def problem(path: str, trusted, *, lstat, readlink, owner) -> str | None:
    """Why another user could change the repository at `path`, or None: the first folder at
    fault, with its owner and mode."""
    try:
        steps, chain = resolve(path, lstat=lstat, readlink=readlink)
    except Unresolvable as error:
        return str(error)
    for folders, entry, info in steps:
        folder, folder_info = folders[-1]
        why = _entry_at_risk(folder, folder_info, entry, info, trusted, owner)
        if why:
            return why
    if steps and steps[-1][2] is None:
        return None  # created by travelsync, then checked again
    folder, info = chain[-1]
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a folder"
    if info.st_uid not in trusted:
        return f"{folder} belongs to {describe(info, owner)}, not to you or root"
    if info.st_mode & OTHERS_WRITE:
        return f"{folder} is writable by other users ({describe(info, owner)})"
    return None


def _entry_at_risk(folder, folder_info, entry, info, trusted, owner) -> str | None:
    """Why another user could replace `entry` (None: missing) in `folder`, or None."""
    if folder_info.st_uid not in trusted:
        return f"{folder} belongs to {describe(folder_info, owner)}, not to you or root"
    if not folder_info.st_mode & OTHERS_WRITE:
        return None
    if not folder_info.st_mode & stat.S_ISVTX:
        return f"{folder} is writable by other users ({describe(folder_info, owner)})"
    if info is not None and info.st_uid not in trusted:
        return (f"{entry} belongs to {describe(info, owner)}, in {folder}, which other users may write in "
                f"({describe(folder_info, owner)})")
    return None


def describe(info, owner) -> str:
    """`owner marc (uid 1000), mode 0777`."""
    return f"owner {owner(info.st_uid)} (uid {info.st_uid}), mode {stat.S_IMODE(info.st_mode):04o}"


def local_owner(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "unknown"


def refuse(location, why: str | None) -> None:
    """Raise TravelsyncError (exit 1) naming the repository and the folder at fault, if any."""
    if why is not None:
        from travelsync.errors import TravelsyncError

        raise TravelsyncError(f"repository {location}: {why}; another user could change the backups "
                              "(and what a restore puts back), so travelsync will not use it",
                              hint="only you and root may be able to change a repository and the folders above it: "
                                   "chown/chmod go-w the folder named, or point `repository:` elsewhere")
