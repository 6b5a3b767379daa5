"""Build rsync argument lists (pure: no I/O), so every transfer is unit-testable.

Paths are always passed after `--`, absolute or `./`-prefixed, with `-s` (--protect-args):
a name that begins with `-` or holds `:`, spaces or newlines can become neither an option
nor a host.
"""

from travelsync.location import Location, rsync_rsh
from travelsync.rsync.itemize import CHECKSUM, LISTING_FORMAT
from travelsync.rsync.trusted_paths import OPTION as SKIP_SYMLINK_WALK, names_a_path


def common_args(settings, ssh, remote: bool, *, progress: bool = True, itemize: bool = True,
                listing: bool = False, closed_paths: bool = False, attributes: bool = True) -> list[str]:
    """The flags every travelsync transfer shares, program first.

    `-aHAX --numeric-ids` keep contents, modes, times, symlinks, hard links, ACLs, xattrs and
    owners by number; `-s` protects names from the remote shell; `--info=progress2` streams
    whole-transfer progress; `-i` itemizes each change; `--stats` gives the counts. `-e ssh…`
    (port, identity, options from the `ssh:` section) only when one end is remote. The user's
    `rsync.extra_args` come last so they can override.

    `listing`: every item, changed or not (`-ii`), in LISTING_FORMAT with rsync's xxh128
    whole-file checksum of each file it sends (rsync/itemize.py): the backup's manifest is
    built from these lines, with no second read of the data.

    `closed_paths`: no other user can reach the paths of this transfer (rsync/trusted_paths.py),
    so rsync may skip its per-file symlink-race walk (`--insecure-links`), unless `extra_args`
    name a path (`--log-file`, `--temp-dir`…: trusted_paths.names_a_path). `extra_args` come
    after it: `--no-insecure-links` there keeps the walk.

    `--sparse`: runs of zeros are written as holes, so a VM's sparse disk image takes its real
    size in a snapshot and on the laptop, not its apparent size.

    `attributes`: False leaves out `-A` and `-X` (ACLs, extended attributes), for a restore of a
    snapshot known to hold none (backup/attributes.py): reading them is a third of the time
    rsync takes to compare 50,000 unchanged files.
    """
    argv = [settings.program, "-aHAX" if attributes else "-aH", "--numeric-ids", "--sparse", "-s", "--stats"]
    if listing:
        argv += ["-ii", f"--out-format={LISTING_FORMAT}", f"--checksum-choice={CHECKSUM}"]
    elif itemize:
        argv.append("--itemize-changes")
    if progress:
        argv.append("--info=progress2")
    if remote:
        argv += ["-e", rsync_rsh(ssh)] + io_timeout(ssh)
    return _finish(argv, settings, closed_paths)


def io_timeout(ssh) -> list[str]:
    """rsync's own bound on silence over ssh, a backstop behind ssh's keep-alives (which
    give up first and name the host): a peer that stops answering never hangs a run."""
    return [f"--timeout={ssh.silence_limit + 30}"] if ssh is not None else []


def _finish(argv: list[str], settings, closed_paths: bool) -> list[str]:
    """The walk's opt-out (never when the extra arguments name a path rsync opens: the walk
    guards those too), then the user's extra arguments (last, so they can override)."""
    if closed_paths and names_a_path(settings.extra_args) is None:
        argv.append(SKIP_SYMLINK_WALK)
    return argv + list(settings.extra_args)


def exclude_args(patterns) -> list[str]:
    """One `--exclude=PATTERN` per pattern (the `=` form: a pattern starting with `-` stays a pattern)."""
    return [f"--exclude={pattern}" for pattern in patterns]


def source_spec(path) -> str:
    """A local source folder as rsync's "contents of" argument: absolute, with a trailing slash."""
    text = str(path)
    if not text.startswith("/"):
        text = "./" + text
    return text if text.endswith("/") else text + "/"


def backup_args(settings, ssh, source, destination: Location, *, link_dest: str | None = None,
                dry_run: bool = False, progress: bool = True, listing: bool = False,
                closed_paths: bool = False) -> list[str]:
    """rsync argv copying `source` (a config Source) into `destination` (a folder, local or remote).

    `link_dest`: the same source's folder in the previous snapshot (an absolute path on the
    repository's machine); unchanged files become hard links to it (incremental). None for a
    full, which must share no inode with older snapshots. `--delete` makes the destination
    equal the source (it matters when a partial snapshot is resumed); `--partial` keeps a
    half-sent file for the next run; `--delete-excluded` drops files newly excluded.
    `listing`: list every file with its checksum (see common_args) for the manifest.
    """
    argv = common_args(settings, ssh, destination.is_remote, progress=progress, listing=listing,
                       closed_paths=closed_paths)
    argv += ["--delete", "--delete-excluded", "--partial"]
    if source.one_file_system:
        argv.append("--one-file-system")
    argv += exclude_args(source.excludes) + list(source.filters)
    if link_dest:
        argv.append(f"--link-dest={link_dest}")
    if dry_run:
        argv.append("--dry-run")
    argv += ["--", source_spec(source.path), destination.rsync_spec(trailing_slash=True)]
    return argv


def change_check_args(settings, ssh, source, previous: Location, *, closed_paths: bool = False) -> list[str]:
    """A dry run comparing `source` with its copy in the previous snapshot: any itemized line
    means something changed. No progress, no stats: the caller stops at the first change."""
    argv = [settings.program, "-aHAX", "--numeric-ids", "-s", "--itemize-changes", "--dry-run",
            "--delete", "--delete-excluded"]
    if previous.is_remote:
        argv += ["-e", rsync_rsh(ssh)] + io_timeout(ssh)
    argv = _finish(argv, settings, closed_paths)
    if source.one_file_system:
        argv.append("--one-file-system")
    argv += exclude_args(source.excludes) + list(source.filters)
    argv += ["--", source_spec(source.path), previous.rsync_spec(trailing_slash=True)]
    return argv


def checksum_args(settings, ssh, root: Location, nowhere: str, *, files_from: str | None = None) -> list[str]:
    """A dry run that lists the xxh128 checksum of every regular file under `root` (or of the
    NUL-separated names in the file `files_from`, relative to root) in LISTING_FORMAT,
    computed by rsync where the files are (on the remote for a remote root: no data crosses
    the network). `nowhere`: a local folder that does not exist (the dry run's destination)."""
    argv = [settings.program, "-rl", "-c", "-n", "-s", f"--checksum-choice={CHECKSUM}",
            f"--out-format={LISTING_FORMAT}"]
    if root.is_remote:
        argv += ["-e", rsync_rsh(ssh)]
    if files_from is not None:
        argv += ["--from0", f"--files-from={files_from}"]
    argv += ["--", root.rsync_spec(trailing_slash=True), nowhere.rstrip("/") + "/"]
    return argv
