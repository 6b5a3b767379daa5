"""The one way travelsync runs short helper programs (ip, ssh, sysctl, mail clients' checkers).

rsync, which streams, is driven through `sh` in `travelsync.rsync`; everything else comes
here so that tests can pass a recording runner instead (`Runner` is a plain callable).
"""

import shutil
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
