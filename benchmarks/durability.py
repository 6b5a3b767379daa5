#!/usr/bin/env python3
"""What the durability step itself costs: the syncfs(2) a backup makes before its commit.

    benchmarks/durability.py                  # 50,000 files, ~1 GiB, 5 rounds
    benchmarks/durability.py --files 5000 --size 100M --rounds 3 --work /var/tmp/dur

`benchmarks/run` times whole commands (travelsync's full backup against bare rsync followed
by `sync -f`), where the disk's swings on a shared machine hide a step of a few seconds. This
times the step inside each command, in the same round, one after the other:

  travelsync  `backup --full` under `strace -f --seccomp-bpf -e trace=syncfs -T` (only syncfs
              stops the process, so the rest runs at full speed): the whole command, and the
              time spent inside its syncfs call (strace's -T) — the durability step
  bare rsync  `rsync -aHAX --numeric-ids --delete SRC/ COPY/`, then `sync -f COPY` timed apart

Dirty pages are written out (`sync`) before each command. Prints one line per round and the
medians; needs strace. strace slows travelsync's command as a whole (it follows every fork):
only its syncfs time is read from it.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(os.path.realpath(__file__)).parent
VENV_PYTHON = BENCHMARKS.parent / ".venv" / "bin" / "python"
if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), os.path.realpath(__file__), *sys.argv[1:]])
sys.path.insert(0, str(BENCHMARKS))

from dataset import generate_tree  # noqa: E402
from measure import median  # noqa: E402

SYNCFS = re.compile(r"syncfs\(.*\)\s+=\s+\d+\s+<(?P<seconds>[\d.]+)>")


def wall(argv, env=None) -> float:
    os.sync()
    started = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.monotonic() - started


def travelsync_full(work: Path, source: Path, number: int) -> tuple[float, float]:
    """(whole command, inside syncfs) in seconds, for a full backup into a fresh repository."""
    repository, trace = work / f"repo{number}", work / f"strace{number}.txt"
    config = work / "config.yaml"
    config.write_text(json.dumps({"repository": str(repository), "sources": [{"name": "home", "path": str(source)}],
                                  "rsync": {"retries": 0}}))
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent), "TRAVELSYNC_NOW": "2026-11-22T02:30:00Z"}
    seconds = wall(["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=syncfs", "-T", "-o", str(trace),
                    sys.executable, "-m", "travelsync", "--config", str(config), "--json", "backup", "--full"], env)
    inside = sum(float(m.group("seconds")) for m in SYNCFS.finditer(trace.read_text()))
    shutil.rmtree(repository)
    return seconds, inside


def rsync_then_sync(work: Path, source: Path, number: int) -> tuple[float, float]:
    copy = work / f"copy{number}"
    seconds = wall(["rsync", "-aHAX", "--numeric-ids", "--delete", f"{source}/", f"{copy}/"])
    started = time.monotonic()
    subprocess.run(["sync", "-f", str(copy)], check=True)
    synced = time.monotonic() - started
    shutil.rmtree(copy)
    return seconds, synced


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes (default 1 GiB)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, help="default: a temp folder, removed at the end")
    options = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("benchmarks/durability.py: strace is not installed", file=sys.stderr)
        return 2
    work = options.work or Path(tempfile.mkdtemp(prefix="durability-"))
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        source = work / "home"
        generate_tree(source, options.files, options.size)
        rows = []
        for number in range(options.rounds):
            ours = travelsync_full(work, source, number) if number % 2 == 0 else None
            bare = rsync_then_sync(work, source, number)
            ours = ours or travelsync_full(work, source, number)  # alternate which goes first
            rows.append((*ours, *bare))
            print(f"round {number + 1}: travelsync {ours[0]:6.2f} s (syncfs {ours[1]:5.2f} s)   "
                  f"rsync {bare[0]:6.2f} s + sync -f {bare[1]:5.2f} s", flush=True)
        columns = list(zip(*rows))
        print(f"medians of {len(rows)}: travelsync's syncfs {median(columns[1]):.2f} s "
              f"({min(columns[1]):.2f}–{max(columns[1]):.2f}); bare rsync's sync -f {median(columns[3]):.2f} s "
              f"({min(columns[3]):.2f}–{max(columns[3]):.2f}); bare rsync {median(columns[2]):.2f} s. "
              "(travelsync's whole time is under strace, which slows it: compare whole commands with "
              "benchmarks/run.)")
    finally:
        if not options.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
