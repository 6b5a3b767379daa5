"""rsync's arguments for copying one snapshot into an off-site copy (pure)."""

from travelsync.location import Location
from travelsync.rsync.args import common_args, exclude_args


def snapshot_copy_passes(settings, ssh, source: Location, destination: Location, *, link_dest: str | None,
                         attributes: bool = True, progress: bool = True, exclude=()) -> list[list[str]]:
    """The two rsync runs that copy one snapshot folder.

    1. Its folders (data/; in a gocryptfs view, the ciphertext of data/) with `--link-dest`:
       the bulk, where unchanged files become hard links.
    2. Its top-level files (the manifest, snapshot.json in a view, the change list) whole
       (`-I`: never skipped for size and time) and never linked: two snapshots' records can
       have the same size and the same second, and rsync's quick check would then link the
       previous snapshot's manifest into the new one (found by the encrypted restore test,
       whose decrypted snapshot.json named the previous snapshot)."""
    folders = snapshot_copy_args(settings, ssh, source, destination, link_dest=link_dest, attributes=attributes,
                                 progress=progress, exclude=("/*", *exclude), include=("/*/",))
    files = snapshot_copy_args(settings, ssh, source, destination, link_dest=None, attributes=attributes,
                               progress=False, exclude=("/*/", *exclude), whole=True)
    return [folders, files]


def snapshot_copy_args(settings, ssh, source: Location, destination: Location, *, link_dest: str | None,
                       attributes: bool = True, progress: bool = True, exclude=(), include=(), whole: bool = False,
                       dry_run: bool = False) -> list[str]:
    """rsync argv making `destination` (a partial snapshot folder of the copy) equal to
    `source` (a home snapshot folder, or its gocryptfs ciphertext view).

    The flags of every transfer (`-aHAX --numeric-ids -s`…, rsync/args.py), `--delete` (a
    resumed partial ends equal to the source), `--partial` (a half-sent file is kept for the
    next run), and `--link-dest` to the copy's previous snapshot (an absolute path on the
    copy's machine): unchanged files become hard links there as they are at home.
    `attributes`: False leaves out -A/-X (a gocryptfs view carries no ACLs)."""
    remote = source.is_remote or destination.is_remote
    argv = common_args(settings, ssh, remote, progress=progress, itemize=False, attributes=attributes)
    argv += ["--delete", "--partial"] + [f"--include={pattern}" for pattern in include] + exclude_args(exclude)
    if whole:
        argv.append("--ignore-times")
    if link_dest:
        argv.append(f"--link-dest={link_dest}")
    if dry_run:
        argv.append("--dry-run")
    return argv + ["--", source.rsync_spec(trailing_slash=True), destination.rsync_spec(trailing_slash=True)]
