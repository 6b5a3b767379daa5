"""One mailer keep or revert at a time: flock(2) on $XDG_STATE_HOME/travelsync/mailer.lock.

Two runs at once (a cron `prepare` and a hand-typed `mailer keep`) would both plan from the
same files and the same mailer.json: the later one would find a file changed under it, or
record as "original" what the other had just written.  The holder writes its pid, host,
command and start inside, so the second run (TemporaryError, exit 75) names it.  A holder
that died releases the lock with its last file descriptor.  Dry runs write nothing and take
no lock.
"""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from travelsync.errors import TemporaryError

LOCK_FILE = "mailer.lock"


@contextmanager
def hold(state_dir: Path, command: str):
    """Hold the mailer lock for the block; raise TemporaryError at once when another run holds it."""
    from travelsync.repository.lock import describe_holder, holder_record

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = os.pread(descriptor, 4096, 0).decode("utf-8", "replace")
            raise TemporaryError(f"{path} is held by {describe_holder(record)}: another mailer keep or revert "
                                 "is running; nothing changed",
                                 hint="try again when it has finished") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder_record(command).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
