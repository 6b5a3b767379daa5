#!/usr/bin/env python3
"""The cost of encryption alone: rsync of a snapshot through gocryptfs's reverse view against
bare rsync of the same snapshot, to a local folder (no network, so the view's share shows).

    python benchmarks/crypt_view.py                     # 3,000 files, ~100 MiB, 3 rounds
    python benchmarks/crypt_view.py --files 300 --size 5M --rounds 1 --json out.json

Steps, each timed for bare rsync and for the encrypted copy (the view's mount and unmount
included), alternating which goes first each round:
  first copy   rsync -aH --numeric-ids SNAP1/ COPY/1/
  unchanged    rsync … --link-dest=COPY/1 SNAP2/ COPY/2/       (SNAP2 = SNAP1, hard links)
  1% changed   rsync … --link-dest=COPY/2 SNAP3/ COPY/3/       (benchmarks/dataset.py's change)
Medians over the rounds and the ratio encrypted / plain are printed as a markdown table, then
the fixed part of each encrypted step: mounting and unmounting a view with nothing read.
Root only (FUSE); needs gocryptfs, fuse3 and rsync. Exit status: 0 done, 1 a step failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from dataset import apply_change, generate_tree  # noqa: E402
from measure import median  # noqa: E402

from travelsync.offsite import crypt  # noqa: E402

RSYNC = ["rsync", "-aH", "--numeric-ids"]
STEPS = ("first copy", "unchanged", "1% changed")
PASSWORD = b"benchmark password"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def snapshots(work: Path, files: int, size: int) -> list[Path]:
    """Three snapshots as the home repository holds them: a full, an unchanged incremental
    (hard links) and one after a 1 % change (hard links but for what changed)."""
    first = work / "home" / "1"
    generate_tree(first, files, size)
    second, third = work / "home" / "2", work / "home" / "3"
    subprocess.run(["cp", "-al", first, second], check=True)
    subprocess.run(["cp", "-al", second, third], check=True)
    for changed in apply_change(third, work / "stash").modified:  # rewrite, do not write through a link
        path = changed[0]
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    return [first, second, third]


def copy(snapshot: Path, target: Path, previous: Path | None, config: Path | None) -> float:
    """Seconds for one snapshot's copy; `config` given: through the reverse view."""
    os.sync()
    start = time.perf_counter()
    with (crypt.reverse_view(snapshot, config, PASSWORD) if config else nullcontext(snapshot)) as source:
        link = [f"--link-dest={previous}"] if previous else []
        subprocess.run([*RSYNC, *link, f"{source}/", str(target)], check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--size", default="100M")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="travelsync-bench-crypt-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    try:
        snaps = snapshots(work, options.files, parse_size(options.size))
        config = work / "keys" / "gocryptfs.conf"
        crypt.init_config(config, PASSWORD)
        times = {kind: {step: [] for step in STEPS} for kind in ("plain", "encrypted")}
        for number in range(options.rounds):
            order = ["plain", "encrypted"] if number % 2 == 0 else ["encrypted", "plain"]
            for kind in order:
                copies = work / "copies" / kind
                shutil.rmtree(copies, ignore_errors=True)
                copies.mkdir(parents=True)
                previous = None
                for step, snapshot in zip(STEPS, snaps):
                    target = copies / snapshot.name
                    times[kind][step].append(copy(snapshot, target, previous, config if kind == "encrypted" else None))
                    previous = target
        mounts = []
        for _ in range(max(3, options.rounds)):
            start = time.perf_counter()
            with crypt.reverse_view(snaps[0], config, PASSWORD):
                pass
            mounts.append(time.perf_counter() - start)
        results = {"files": options.files, "size": options.size, "rounds": options.rounds,
                   "seconds": {kind: {step: median(values) for step, values in steps.items()}
                               for kind, steps in times.items()},
                   "mount_seconds": median(mounts)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"rsync through gocryptfs -reverse vs bare rsync: {options.files} files, {options.size}, "
          f"median of {options.rounds} round(s)\n")
    print("| step | bare rsync (s) | encrypted (s) | ratio |\n|---|---|---|---|")
    for step in STEPS:
        plain, encrypted = results["seconds"]["plain"][step], results["seconds"]["encrypted"][step]
        print(f"| {step} | {plain:.2f} | {encrypted:.2f} | {encrypted / plain:.1f} × |")
    print(f"\nmounting and unmounting a view (in each encrypted step): {results['mount_seconds']:.2f} s")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
