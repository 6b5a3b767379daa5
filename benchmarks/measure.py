"""Run one command and time it: wall seconds, and optionally the process's own peak memory.

The peak is VmHWM from /proc/<pid>/status, polled from a thread while the main thread waits
for the process (so the end time is exact, not rounded up to a polling step). It is the
process itself only: rsync, a child, has its own /proc entry and is not counted.
"""

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FILES_TRANSFERRED = re.compile(r"^Number of regular files transferred: ([\d,.]+)", re.M)


@dataclass
class Timing:
    seconds: float
    peak_kib: int
    stdout: str
    stderr: str
    returncode: int


class CommandFailed(RuntimeError):
    pass


def _poll_peak(pid: int, done: threading.Event, peak: list) -> None:
    status = Path(f"/proc/{pid}/status")
    while not done.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
                    break
        except (OSError, ValueError):
            return
        done.wait(0.01)


def timed(argv, *, env=None, cwd=None, watch_memory=False, ok=(0,), flush=True) -> Timing:
    """Run `argv` to the end. Dirty pages are written out first (`flush`) so that no run pays
    for the previous one's writeback. Raises CommandFailed on an exit status not in `ok`."""
    if flush:
        os.sync()
    peak = [0]
    done = threading.Event()
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    watcher = None
    if watch_memory:
        watcher = threading.Thread(target=_poll_peak, args=(process.pid, done, peak), daemon=True)
        watcher.start()
    outputs = {}
    readers = [threading.Thread(target=lambda name, stream: outputs.__setitem__(name, stream.read()),
                                args=(name, stream), daemon=True)
               for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))]
    for reader in readers:
        reader.start()
    _, status = os.waitpid(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    stdout, stderr = outputs["stdout"], outputs["stderr"]
    done.set()
    if watcher is not None:
        watcher.join()
    result = Timing(seconds, peak[0], stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                    process.returncode)
    if process.returncode not in ok:
        raise CommandFailed(f"{' '.join(map(str, argv[:6]))} … exited {process.returncode}: "
                            f"{result.stderr.strip()[-600:] or result.stdout.strip()[-600:]}")
    return result


def rsync_files_transferred(stdout: str) -> int | None:
    """"Number of regular files transferred" from rsync's --stats (summed over several runs)."""
    found = FILES_TRANSFERRED.findall(stdout)
    return sum(int(re.sub(r"[,.]", "", n)) for n in found) if found else None


def median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
