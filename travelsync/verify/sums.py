"""xxh128 checksums computed by rsync itself (`rsync -c -n`, see rsync/args.checksum_args):
where the files are, at C speed, for `verify` and for the few files a backup's listing left
without a checksum. No Python xxhash needed; over ssh no file data crosses the network."""

import os
import shutil
import tempfile

from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.rsync.exits import PARTIAL_TRANSFER, TRANSPORT_FAILURES, VANISHED
from travelsync.rsync.itemize import is_regular_file, unescape_name

ACCEPTED_EXITS = (0, PARTIAL_TRANSFER, VANISHED)  # some files unreadable or vanished: the rest are listed


def each_checksum(settings, ssh, root, handle, names=None) -> None:
    """Call handle(path relative to root, xxh128 hex) for every regular file under `root` (a
    Location), or only for `names` (relative paths, bytes). Raises TemporaryError when the
    host cannot be reached, TravelsyncError when rsync fails otherwise."""
    from travelsync.config.model import RsyncSettings
    from travelsync.rsync.args import checksum_args
    from travelsync.rsync.run import run_rsync

    settings = settings or RsyncSettings()

    def on_file(code, size, checksum, name):
        if checksum is not None and is_regular_file(code):
            handle(unescape_name(name), checksum.decode("ascii"))

    folder = tempfile.mkdtemp(prefix="travelsync-sums-")
    try:
        files_from = None
        if names is not None:
            files_from = os.path.join(folder, "names")
            with open(files_from, "wb") as listing:
                listing.writelines(name + b"\0" for name in names)  # streamed: a sample may be large
        result = run_rsync(checksum_args(settings, ssh, root, os.path.join(folder, "nowhere"),
                                         files_from=files_from), on_file=on_file)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.exit_code in ACCEPTED_EXITS:
        return
    if result.exit_code in TRANSPORT_FAILURES:
        raise TemporaryError(f"{root}: rsync could not reach it (exit {result.exit_code}): {result.error_summary()}")
    raise TravelsyncError(f"{root}: rsync could not list checksums (exit {result.exit_code}): "
                          f"{result.error_summary()}")


def checksums_of(settings, ssh, root, names) -> dict:
    """{relative path: xxh128 hex} of `names` under `root` (missing files are left out)."""
    found = {}
    each_checksum(settings, ssh, root, found.__setitem__, names)
    return found
