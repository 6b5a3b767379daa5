"""When rsync may skip its symlink-race defence: `--insecure-links`, only where it cannot matter.

rsync 3.4.3 and later resolve every path they touch component by component (openat with
O_NOFOLLOW, refusing symlinks an untrusted user owns), so that another user who can write in
the destination cannot plant a symlink that redirects the copy.  That walk runs for each file
and each directory of --link-dest, --backup-dir and the destination: on a 50,000-file
incremental it is three quarters of rsync's time (openat and close about 18 times a file).

The defence guards against one thing: a user other than root and ourselves changing a name
along those paths while rsync runs.  That is impossible when every path is *closed*:

- each directory on the way down is owned by root or us, and only they can write in it
  (a sticky directory such as /tmp is fine when the name we go through is root's or ours);
- every symlink on the way is root's or ours (rsync would follow those anyway);
- some directory on the way, root's or ours, denies search to group and others (mode
  `…700`), so nobody else can even reach what lies beneath it: the repository (created 0700)
  or a private home.

`closed(path)` checks that for one path and says why not; `skip_symlink_walk(program, paths)`
holds when all paths are closed and the installed rsync has the option.  Anything else keeps
rsync's default.  Not covered, and out of reach of any user-level check: another user's
process that had its current folder inside before the folder was made private.
"""

import os
import stat

MAX_SYMLINKS = 40  # as the kernel's own limit on a path walk

OPTION = "--insecure-links"


def trusted_uids() -> frozenset:
    return frozenset({0, os.geteuid()})


def closed(path: str, trusted=None, *, lstat=os.lstat, readlink=os.readlink) -> str | None:
    """None when no user outside `trusted` (uids) can change `path` or anything beneath it;
    otherwise why they could.  A missing tail is what rsync will create: it must lie under a
    closed folder.  `lstat`/`readlink` are the file system (tests pass their own)."""
    trusted = trusted_uids() if trusted is None else trusted
    if not path.startswith("/"):
        return f"{path}: not an absolute path"
    try:
        root = lstat("/")
    except OSError as error:
        return f"/: {error.strerror}"
    chain = [("/", root, _private(root, trusted))]  # (folder, its stat, nobody else can reach it)
    pending = _parts(path)
    followed = 0
    while pending:
        name = pending.pop(0)
        folder, info, hidden = chain[-1]
        if name == "..":
            if len(chain) > 1:
                chain.pop()
            continue
        child = folder.rstrip("/") + "/" + name
        try:
            child_info = lstat(child)
        except FileNotFoundError:
            return None if hidden else f"{folder} can be reached by other users (rsync would create {child} there)"
        except OSError as error:
            return f"{child}: {error.strerror}"
        if not hidden:
            why = _swappable(folder, info, child_info, trusted)
            if why:
                return why
        if stat.S_ISLNK(child_info.st_mode):
            if child_info.st_uid not in trusted:
                return f"{child} is a symlink owned by uid {child_info.st_uid}"
            followed += 1
            if followed > MAX_SYMLINKS:
                return f"{path}: too many symlinks"
            target = readlink(child)
            if target.startswith("/"):
                chain = [("/", root, _private(root, trusted))]
            pending = _parts(target) + pending
            continue
        if pending and not stat.S_ISDIR(child_info.st_mode):
            return f"{child} is not a folder"
        chain.append((child, child_info, hidden or _private(child_info, trusted)))
    return None if chain[-1][2] else f"{path} can be reached by other users"


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


def _private(info, trusted) -> bool:
    """A folder of root's or ours that nobody else may search: what is beneath is out of reach."""
    return stat.S_ISDIR(info.st_mode) and info.st_uid in trusted and not info.st_mode & 0o011


def _swappable(folder, info, child_info, trusted) -> str | None:
    """Why another user could replace the entry `child_info` names in `folder`, or None."""
    if info.st_uid not in trusted:
        return f"{folder} is owned by uid {info.st_uid}"
    if info.st_mode & 0o022:
        sticky = info.st_mode & stat.S_ISVTX
        if not sticky or child_info.st_uid not in trusted:
            return f"{folder} is writable by other users"
    return None


_SUPPORT = {}


def rsync_has_option(program: str) -> bool:
    """Whether this rsync knows --insecure-links (3.4.3 and later; older ones have no walk to skip)."""
    if program not in _SUPPORT:
        import subprocess

        try:
            out = subprocess.run([program, "--help"], capture_output=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = b""
        _SUPPORT[program] = OPTION.encode() in out
    return _SUPPORT[program]


def skip_symlink_walk(program: str, paths) -> bool:
    """True when rsync may run with --insecure-links: every local path closed, the option known."""
    return all(closed(str(path)) is None for path in paths) and rsync_has_option(program)
