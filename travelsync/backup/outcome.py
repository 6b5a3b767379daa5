"""What an rsync exit means for a backup (pure): design §3 and rsync(1) EXIT VALUES."""

from enum import Enum

from travelsync.rsync.exits import PARTIAL_TRANSFER, TRANSPORT_FAILURES, VANISHED


class Outcome(Enum):
    OK = "ok"
    VANISHED = "vanished"  # 24: commit, exit 3, list the files
    PARTIAL = "partial"  # 23: commit as `incomplete`, exit 3, name the failed files
    TRANSPORT = "transport"  # 10, 12, 30, 35, 255: retry with backoff, then exit 75
    NO_SPACE = "no-space"  # the repository is full: exit 1, partial kept
    KILLED = "killed"  # rsync died of a signal: exit 1, partial kept
    FAILED = "failed"  # anything else: exit 1


def classify(result) -> Outcome:
    if result.no_space:
        return Outcome.NO_SPACE
    if result.signal:
        return Outcome.KILLED
    code = result.exit_code
    if code == 0:
        return Outcome.OK
    if code == VANISHED:
        return Outcome.VANISHED
    if code == PARTIAL_TRANSFER:
        return Outcome.PARTIAL
    if code in TRANSPORT_FAILURES:
        return Outcome.TRANSPORT
    return Outcome.FAILED

