"""One writer per repository: flock(2) on REPO/lock, the holder's pid and command written inside;
and any number of readers per snapshot: a shared flock(2) on REPO/readers/<id>.

A lock whose holder died is released by the kernel; the record it left behind tells the
next holder that it is taking over, which it says (the interrupted run's partial snapshot
is then resumed).

The readers' locks let `prune` (which holds the writer lock) leave a snapshot that a
restore or verify is reading: prune takes the reader file exclusively, without waiting,
for the moment of the rename; a reader takes it shared and then looks whether its snapshot
is still there. Whichever comes first wins, and the other learns it.
"""

import errno
import fcntl
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from travelsync.errors import TemporaryError

READER_WAIT = 30.0  # seconds a reader waits for a prune's rename (milliseconds, normally)


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


def _open_lock_file(path) -> int:
    """REPO/lock as a plain file (0600 when new), never opened through a symlink: the check
    and the open are one system call, so nothing can be swapped in between."""
    import stat

    from travelsync.errors import TravelsyncError

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise TravelsyncError(f"{path} is a symlink; travelsync never follows one inside a repository",
                                  hint=f"remove the link ({path}): the lock file is made again") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TravelsyncError(f"{path} is not a plain file; travelsync will not use it as the lock",
                              hint=f"remove it ({path}): the lock file is made again")
    return fd


@contextmanager
def local_lock(path, command: str, where: str, notice=None):
    """Hold the flock on `path` for the block (yields a HeldLocally); raise TemporaryError (75)
    when another holds it.

    `notice(message)` is told when a dead holder's lock is taken over.
    """
    fd = _open_lock_file(path)
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


class SnapshotGone(Exception):
    """The snapshot a reader wanted was deleted before its shared lock was taken."""


def _open_reader_file(path: Path, create: bool) -> int | None:
    """The reader file's descriptor (never through a symlink); None when it cannot be made
    because the repository is not ours to write (a read-only mount: nobody prunes it either)."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        return os.open(path, flags, 0o600)
    except OSError as error:
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        raise


@contextmanager
def local_reader_lock(path: Path, still_there, where: str, wait: float = READER_WAIT):
    """Hold a shared flock on `path` (REPO/readers/<id>) for the block. Raise SnapshotGone when,
    once held, `still_there()` is false; TemporaryError (75) when a prune held it for `wait` s."""
    fd = _open_reader_file(path, create=True)
    try:
        if fd is not None:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TemporaryError(f"repository {where}: {path.name} is being deleted by a prune "
                                             f"that does not finish", hint="try again later")
                    time.sleep(0.02)
        if not still_there():
            raise SnapshotGone(path.name)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def retire_unless_read(path: Path, retire) -> bool:
    """Call `retire()` (the snapshot's rename away) while holding `path` exclusively, and remove
    the reader file then; False, with nothing done, when a reader holds it."""
    fd = _open_reader_file(path, create=True)
    if fd is None:  # no reader could have locked it either
        retire()
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        retire()
        path.unlink(missing_ok=True)  # a reader that opened it meanwhile finds the snapshot gone
        return True
    finally:
        os.close(fd)
