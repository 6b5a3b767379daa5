"""One writer per repository: flock(2) on REPO/lock, the holder's pid and command written inside.

A lock whose holder died is released by the kernel; the record it left behind tells the
next holder that it is taking over, which it says (the interrupted run's partial snapshot
is then resumed).
"""

import fcntl
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone

from travelsync.errors import TemporaryError


def holder_record(command: str) -> str:
    return (f"pid={os.getpid()} host={socket.gethostname()} command={command} "
            f"started={datetime.now(timezone.utc).isoformat(timespec='seconds')}\n")


def describe_holder(record: str) -> str:
    """`pid=12 host=h command=backup started=…` → "pid 12 on h (travelsync backup, since …)"."""
    fields = dict(part.split("=", 1) for part in record.split() if "=" in part)
    if not fields:
        return "another process"
    return (f"pid {fields.get('pid', '?')} on {fields.get('host', '?')} "
            f"(travelsync {fields.get('command', '?')}, since {fields.get('started', '?')})")


class HeldLocally:
    """What `with repository.lock(…) as held` gives for a local repository: a flock on our
    own open file cannot be lost while we live."""

    @staticmethod
    def lost() -> str | None:
        return None


@contextmanager
def local_lock(path, command: str, where: str, notice=None):
    """Hold the flock on `path` for the block (yields a HeldLocally); raise TemporaryError (75)
    when another holds it.

    `notice(message)` is told when a dead holder's lock is taken over.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            raise TemporaryError(f"repository {where} is locked by {describe_holder(record)}",
                                 hint="another backup or prune is running; try again later")
        previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if previous and notice is not None:
            notice(f"took over the lock of {describe_holder(previous)}, which is no longer running")
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_record(command).encode(), 0)
        os.fsync(fd)
        try:
            yield HeldLocally()
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
