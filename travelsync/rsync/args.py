"""Build rsync argument lists (pure: no I/O), so every transfer is unit-testable.

Paths are always passed after `--`, absolute or `./`-prefixed, with `-s` (--protect-args):
a name that begins with `-` or holds `:`, spaces or newlines can become neither an option
nor a host.
"""

from travelsync.location import Location, rsync_rsh

# rsync exit codes worth naming (rsync(1) "EXIT VALUES").
PARTIAL_TRANSFER = 23  # some files could not be transferred
VANISHED = 24  # source files vanished while rsync ran
TRANSPORT_FAILURES = frozenset({10, 12, 30, 35, 255})  # socket/protocol/timeouts/ssh: worth a retry


def common_args(settings, ssh, remote: bool, *, progress: bool = True, itemize: bool = True) -> list[str]:
    """The flags every travelsync transfer shares, program first.

    `-aHAX --numeric-ids` keep contents, modes, times, symlinks, hard links, ACLs, xattrs and
    owners by number; `-s` protects names from the remote shell; `--info=progress2` streams
    whole-transfer progress; `-i` itemizes each change; `--stats` gives the counts. `-e ssh…`
    (port, identity, options from the `ssh:` section) only when one end is remote. The user's
    `rsync.extra_args` come last so they can override.
    """
    argv = [settings.program, "-aHAX", "--numeric-ids", "-s", "--stats"]
    if itemize:
        argv.append("--itemize-changes")
    if progress:
        argv.append("--info=progress2")
    if remote:
        argv += ["-e", rsync_rsh(ssh)]
    argv += list(settings.extra_args)
    return argv


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
                dry_run: bool = False, progress: bool = True) -> list[str]:
    """rsync argv copying `source` (a config Source) into `destination` (a folder, local or remote).

    `link_dest`: the same source's folder in the previous snapshot (an absolute path on the
    repository's machine); unchanged files become hard links to it (incremental). None for a
    full, which must share no inode with older snapshots. `--delete` makes the destination
    equal the source (it matters when a partial snapshot is resumed); `--partial` keeps a
    half-sent file for the next run; `--delete-excluded` drops files newly excluded.
    """
    argv = common_args(settings, ssh, destination.is_remote, progress=progress)
    argv += ["--delete", "--delete-excluded", "--partial"]
    if source.one_file_system:
        argv.append("--one-file-system")
    argv += exclude_args(source.exclude)
    if link_dest:
        argv.append(f"--link-dest={link_dest}")
    if dry_run:
        argv.append("--dry-run")
    argv += ["--", source_spec(source.path), destination.rsync_spec(trailing_slash=True)]
    return argv


def change_check_args(settings, ssh, source, previous: Location) -> list[str]:
    """A dry run comparing `source` with its copy in the previous snapshot: any itemized line
    means something changed. No progress, no stats: the caller stops at the first change."""
    argv = [settings.program, "-aHAX", "--numeric-ids", "-s", "--itemize-changes", "--dry-run",
            "--delete", "--delete-excluded"]
    if previous.is_remote:
        argv += ["-e", rsync_rsh(ssh)]
    argv += list(settings.extra_args)
    if source.one_file_system:
        argv.append("--one-file-system")
    argv += exclude_args(source.exclude)
    argv += ["--", source_spec(source.path), previous.rsync_spec(trailing_slash=True)]
    return argv
