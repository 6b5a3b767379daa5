"""The snapshot repository (format 1, design §3): local or over ssh.

    repository = open_repository(config)
    repository.snapshots()      # committed snapshots, oldest first
    with repository.lock("backup"):
        ...

See docs/backup.md for the format, the commit protocol and the remote commands.
"""

from travelsync.repository.repository import Repository
from travelsync.repository.snapshot import SnapshotInfo

__all__ = ["Repository", "SnapshotInfo", "open_repository"]


def open_repository(config, environ=None) -> Repository:
    """The repository named by `config.repository` (a Location), local or over ssh (`config.ssh`).

    Opening touches nothing; the first operation does (and raises TemporaryError, exit 75,
    when the host cannot be reached)."""
    location = config.repository
    if location.is_remote:
        from travelsync.repository.remote_store import RemoteStore
        from travelsync.shared_ssh import multiplexed, own_connection

        store = RemoteStore(location, multiplexed(config.ssh, environ), own_connection(config.ssh))
    else:
        from travelsync.repository.local_store import LocalStore

        store = LocalStore(location)
    store.rsync_settings = config.rsync  # for the checksum listings of `verify`
    return Repository(store, environ)
