"""rsync's arguments for copying one snapshot into an off-site copy (pure)."""

from travelsync.location import Location
from travelsync.rsync.args import common_args, exclude_args


def snapshot_copy_args(settings, ssh, source: Location, destination: Location, *, link_dest: str | None,
                       attributes: bool = True, progress: bool = True, exclude=(), dry_run: bool = False) -> list[str]:
    """rsync argv making `destination` (a partial snapshot folder of the copy) equal to
    `source` (a home snapshot folder, or its gocryptfs ciphertext view).

    The flags of every transfer (`-aHAX --numeric-ids -s`…, rsync/args.py), `--delete` (a
    resumed partial ends equal to the source), `--partial` (a half-sent file is kept for the
    next run), and `--link-dest` to the copy's previous snapshot (an absolute path on the
    copy's machine): unchanged files become hard links there as they are at home.
    `attributes`: False leaves out -A/-X (a gocryptfs view carries no ACLs)."""
    remote = source.is_remote or destination.is_remote
    argv = common_args(settings, ssh, remote, progress=progress, itemize=False, attributes=attributes)
    argv += ["--delete", "--partial"] + exclude_args(exclude)
    if link_dest:
        argv.append(f"--link-dest={link_dest}")
    if dry_run:
        argv.append("--dry-run")
    return argv + ["--", source.rsync_spec(trailing_slash=True), destination.rsync_spec(trailing_slash=True)]
