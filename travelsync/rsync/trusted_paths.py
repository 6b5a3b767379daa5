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
holds when all paths are closed and the installed rsync has the option.  A folder whose own mode
and owner the transfer sets (a restore of a whole source sets the laptop folder's from the
snapshot) cannot be the shelter: a private folder could become 0755 mid-run.  The walk is also
kept whenever the user's `rsync.extra_args` name a path (`names_a_path`: --log-file, --temp-dir,
--partial-dir, --files-from, a filter's merge file…): those paths are not checked here.
Anything else keeps rsync's default.  Not covered, and out of reach of any user-level check: another user's
process that had its current folder inside before the folder was made private.
"""

import os
import stat

MAX_SYMLINKS = 40  # as the kernel's own limit on a path walk

OPTION = "--insecure-links"


def trusted_uids() -> frozenset:
    return frozenset({0, os.geteuid()})


class Unresolvable(Exception):
    """The path cannot be followed: an entry on the way is not a folder, too many symlinks,
    an lstat error.  The message says which."""


def resolve(path: str, *, lstat=os.lstat, readlink=os.readlink):
    """Every entry the kernel looks up to resolve the absolute `path`, in order: a list of
    (folders, entry, its lstat), `folders` being the chain [(folder, lstat)] from / to the one
    that holds the entry; lstat None for a missing entry, where the walk ends.  Symlinks are
    followed as the kernel follows them (an absolute target from /, `..` back up the chain).
    Also returns the chain at the end (the path's own folder last, when it exists).
    Raise Unresolvable when it cannot be followed."""
    try:
        chain = [("/", lstat("/"))]
    except OSError as error:
        raise Unresolvable(f"/: {error.strerror}") from None
    steps, pending, followed = [], _parts(path), 0
    while pending:
        name = pending.pop(0)
        if name == "..":
            if len(chain) > 1:
                chain.pop()
            continue
        child = chain[-1][0].rstrip("/") + "/" + name
        try:
            info = lstat(child)
        except FileNotFoundError:
            steps.append((tuple(chain), child, None))
            return steps, chain
        except OSError as error:
            raise Unresolvable(f"{child}: {error.strerror}") from None
        steps.append((tuple(chain), child, info))
        if stat.S_ISLNK(info.st_mode):
            followed += 1
            if followed > MAX_SYMLINKS:
                raise Unresolvable(f"{path}: too many symlinks")
            target = readlink(child)
            if target.startswith("/"):
                chain = chain[:1]
            pending = _parts(target) + pending
            continue
        if pending and not stat.S_ISDIR(info.st_mode):
            raise Unresolvable(f"{child} is not a folder")
        chain.append((child, info))
    return steps, chain


def closed(path: str, trusted=None, *, rewritten: bool = False, lstat=os.lstat, readlink=os.readlink) -> str | None:
    """None when no user outside `trusted` (uids) can change `path` or anything beneath it;
    otherwise why they could.  A missing tail is what rsync will create: it must lie under a
    closed folder.  `rewritten`: rsync sets this folder's own mode and owner from the other end
    (a restore of a whole source sets the laptop folder's), so its privacy now says nothing
    about the rest of the run: some folder above it must keep others out.
    `lstat`/`readlink` are the file system (tests pass their own)."""
    trusted = trusted_uids() if trusted is None else trusted
    if not path.startswith("/"):
        return f"{path}: not an absolute path"
    try:
        steps, chain = resolve(path, lstat=lstat, readlink=readlink)
    except Unresolvable as error:
        return str(error)
    for folders, child, info in steps:
        hidden = any(_private(folder_info, trusted) for _, folder_info in folders)
        folder, folder_info = folders[-1]
        if info is None:
            return None if hidden else f"{folder} can be reached by other users (rsync would create {child} there)"
        if not hidden:
            why = _swappable(folder, folder_info, info, trusted)
            if why:
                return why
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in trusted:
            return f"{child} is a symlink owned by uid {info.st_uid}"
    shelters = chain[:-1] if rewritten else chain
    if any(_private(info, trusted) for _, info in shelters):
        return None
    if rewritten and _private(chain[-1][1], trusted):
        return (f"{path} is private now, but the transfer sets its mode and owner from the other end, "
                "and no folder above it keeps other users out")
    return f"{path} can be reached by other users"


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


def skip_symlink_walk(program: str, paths, *, rewritten=()) -> bool:
    """True when rsync may run with --insecure-links: every local path closed, the option known.
    `rewritten`: those of `paths` whose own mode and owner the transfer sets (see closed)."""
    rewritten = {str(path) for path in rewritten}
    return (all(closed(str(path), rewritten=str(path) in rewritten) is None for path in paths)
            and rsync_has_option(program))


# rsync(1) on --insecure-links: besides the destination, the walk guards the paths these options
# name.  A user's extra argument naming one (any filter rule may name a merge file; -M passes
# options on to the receiving rsync) keeps the walk: travelsync does not check those paths.
PATH_OPTIONS = frozenset({
    "--backup-dir", "--temp-dir", "--partial-dir", "--link-dest", "--compare-dest", "--copy-dest",
    "--log-file", "--password-file", "--files-from", "--include-from", "--exclude-from", "--filter",
    "--write-batch", "--only-write-batch", "--read-batch", "--early-input", "--remote-option"})
SHORT_PATH_OPTIONS = frozenset("TfFM")  # -T DIR, -f RULE, -F (.rsync-filter merge files), -M OPTION


def names_a_path(extra_args) -> str | None:
    """The first of the user's extra rsync arguments that names a path rsync opens (or may), else
    None.  rsync takes no abbreviated long option; a cluster of short ones (`-vT/x`) counts when
    any of its letters does (a value's letters too: a false alarm only keeps the walk)."""
    for argument in extra_args:
        if argument.startswith("--"):
            if argument.split("=", 1)[0] in PATH_OPTIONS:
                return argument
        elif argument.startswith("-") and SHORT_PATH_OPTIONS.intersection(argument[1:]):
            return argument
    return None
