"""One backup run as one object: what every step of backup/engine.py needs, passed down
whole, so that a new setting (a hook, a bandwidth limit) is one field, not an edit of every
signature.

    run = BackupRun(config, repository, started, began, Callbacks(notice=print), Stop(cancel, held))
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from travelsync.errors import TemporaryError


class Stopped(TemporaryError):
    """The run was asked to stop (SIGTERM): rsync terminated, the partial kept for resume."""


class LockLost(TemporaryError):
    """The repository lock ended during the run (a remote lock's ssh session died): rsync
    terminated, nothing committed, the partial kept for resume."""


class Stop:
    """When a run stops at a safe point: on request (`cancel`, set by SIGTERM) or when the
    lock it holds is lost. run_rsync polls `is_set()` and terminates rsync; `check()`, called
    before anything is written outside the partial, raises why."""

    def __init__(self, cancel, held):
        self.cancel, self.held = cancel, held

    def is_set(self) -> bool:
        return (self.cancel is not None and self.cancel.is_set()) or self.held.lost() is not None

    def pause(self, seconds: float, sleep) -> None:
        """Wait `seconds` (between two rsync tries), ending early when the run is to stop: a
        SIGTERM must not wait out a retry delay of 20 s."""
        deadline = time.monotonic() + seconds
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sleep(min(left, 0.2))

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Stopped("backup stopped on request; the partial snapshot is kept and the next run resumes it")
        why = self.held.lost()
        if why is not None:
            raise LockLost(f"the repository lock was lost ({why}); stopped before committing: the partial "
                           "snapshot is kept and the next run resumes it")


def _ignore(*args) -> None:
    return None


@dataclass(frozen=True)
class Callbacks:
    """How a run talks to its caller. on_item(code, name) / on_progress(Progress): rsync's
    itemized lines and progress, streamed (None: not asked for, so rsync is not asked to
    print them); notice(message): one-line messages for the user; sleep: the wait between
    two rsync tries (tests pass a fake)."""

    on_item: Callable | None = None
    on_progress: Callable | None = None
    notice: Callable[[str], None] = _ignore
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class BackupRun:
    """A backup under way: the configuration (its cache-tagged folders already found), the
    repository, the run's start (clock.now: its id) and `began` (time.monotonic: its true
    duration), the callbacks, the stop condition, and whether rsync may skip its
    symlink-race walk (`closed_paths`, rsync/trusted_paths.py)."""

    config: object
    repository: object
    started: datetime
    began: float
    callbacks: Callbacks = field(default_factory=Callbacks)
    stop: Stop | None = None
    closed_paths: bool = False

    def notice(self, message: str) -> None:
        self.callbacks.notice(message)

    def finished(self) -> datetime:
        """The end of the run: its start plus the time it really took (time.monotonic), so
        that its duration is true under a replayed clock and when the wall clock is stepped."""
        return self.started + timedelta(seconds=time.monotonic() - self.began)
