"""Did anything change since the previous snapshot? A dry run per source that stops at the
first itemized difference: a full scan only when nothing changed, which is still far cheaper
than building a new tree of hard links (measured in benchmarks/backup.py)."""

from travelsync.repository import layout
from travelsync.rsync.run import StopTransfer


def unchanged_since(config, repository, parent, *, closed_paths: bool = False) -> bool:
    """True when every source equals its copy in `parent` (same sources, no itemized change).
    `closed_paths`: rsync may skip its symlink-race walk (rsync/trusted_paths.py)."""
    from travelsync.rsync.args import change_check_args
    from travelsync.rsync.run import run_rsync

    if set(parent.sources) != {s.name for s in config.sources} or parent.status != "complete":
        return False

    def changed(code, name):
        raise StopTransfer(name)

    for source in config.sources:
        previous = repository.location.child(layout.SNAPSHOTS, parent.id, layout.DATA, source.name)
        try:
            argv = change_check_args(config.rsync, getattr(repository.store, "ssh", config.ssh), source, previous,
                                     closed_paths=closed_paths)
            result = run_rsync(argv, on_item=changed)
        except StopTransfer:
            return False
        if result.exit_code != 0:
            return False  # let the real run report the problem
    return True
