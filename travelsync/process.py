"""The one way travelsync runs short helper programs (ip, ssh, sysctl, mail clients' checkers).

rsync, which streams, is driven through `sh` in `travelsync.rsync`; everything else comes
here so that tests can pass a recording runner instead (`Runner` is a plain callable).
"""

import shutil
import signal
import subprocess
from dataclasses import dataclass
from typing import Protocol, Sequence

from travelsync.errors import TravelsyncError


@dataclass(frozen=True)
class Completed:
    argv: tuple
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def error_line(self) -> str:
        """The last non-empty line of stderr: what the program itself said went wrong."""
        lines = [l for l in self.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
        return lines[-1].strip() if lines else f"exit status {self.returncode}"


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], *, input: bytes | None = None,
                 timeout: float | None = None, env: dict | None = None) -> Completed: ...


class ProgramMissing(TravelsyncError):
    """The program is not installed; the message names the Debian package when known."""


def run(argv: Sequence[str], *, input: bytes | None = None, timeout: float | None = None,
        env: dict | None = None) -> Completed:
    """Run `argv` (no shell), capture its output; never raise on a non-zero exit.

    Raise ProgramMissing when the program does not exist, TravelsyncError on timeout.
    """
    argv = [str(a) for a in argv]
    if shutil.which(argv[0]) is None:
        raise ProgramMissing(f"{argv[0]}: not installed (or not on PATH)")
    try:
        done = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TravelsyncError(f"{argv[0]}: no answer within {timeout:g} s")
    return Completed(tuple(argv), done.returncode, done.stdout, done.stderr)


def _parent_death_signal():
    """A preexec function: in the child, ask for SIGTERM when travelsync dies (rsync then
    keeps its partial file; gocryptfs unmounts its view). libc is loaded here, in the
    parent, once."""
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except Exception:
        return None

    def in_child() -> None:
        try:
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    return in_child


_PREEXEC: list = []


def die_with_parent():
    """The preexec function for a child that must not outlive travelsync (None where
    prctl cannot be had)."""
    if not _PREEXEC:
        _PREEXEC.append(_parent_death_signal())
    return _PREEXEC[0]
