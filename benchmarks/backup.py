#!/usr/bin/env python3
"""travelsync backup vs bare rsync doing the same work, in the same run.

(The backup engineer's first benchmark, kept for its memory runs and its history in
docs/performance.md. The full comparison, with prepare, finalize and the peers rsnapshot,
borg and restic, is `benchmarks/run`.)

    python benchmarks/backup.py                       # 50,000 files, ~1 GB (several minutes)
    python benchmarks/backup.py --files 5000 --size 100M --rss-scales 10000
    python benchmarks/backup.py --keep --workdir /var/tmp/bench

Steps, each timed for bare rsync and for `python -m travelsync backup` (wall time):
  full         rsync -aHAX --numeric-ids --delete SRC/ DEST/  vs  travelsync backup --full
  unchanged    rsync … --link-dest=PREV SRC/ NEW/             vs  travelsync backup --incremental
  1% changed   (1 % of the files rewritten, same for both)    vs  travelsync backup --incremental
Then travelsync's own peak memory (VmHWM of its process, rsync excluded) for a full backup
of trees of --rss-scales files (small files: the count is what matters).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RSYNC_FLAGS = ["-aHAX", "--numeric-ids", "--delete"]


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def generate_tree(root: Path, files: int, total_bytes: int, seed: int = 7) -> int:
    """`files` files of mixed sizes (log-normal: many small, a few large) adding up to about
    `total_bytes`, 400 to a folder. Returns the bytes written."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 1.6) for _ in range(files)]
    scale = total_bytes / sum(weights)
    block = os.urandom(1 << 20)
    written = 0
    for index, weight in enumerate(weights):
        folder = root / f"d{index // 400:04d}"
        if index % 400 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        size = max(1, int(weight * scale))
        offset = rng.randrange(0, len(block))
        data = (block[offset:] + block)[:size] if size <= len(block) else (block * (size // len(block) + 1))[:size]
        (folder / f"f{index:06d}.dat").write_bytes(data)
        written += size
    return written


def change_one_percent(root: Path, seed: int) -> int:
    rng = random.Random(seed)
    paths = sorted(root.rglob("*.dat"))
    chosen = rng.sample(paths, max(1, len(paths) // 100))
    for path in chosen:
        with open(path, "r+b") as handle:
            handle.write(os.urandom(64))
    return len(chosen)


def timed(argv, env=None) -> tuple[float, int, str]:
    """Wall seconds, peak VmHWM (kB) of the process itself, stdout. Dirty pages are flushed
    first so that no run pays for the previous one's writeback."""
    os.sync()
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    out, err = process.communicate()
    seconds = time.monotonic() - started
    if process.returncode not in (0, 3):
        raise SystemExit(f"{argv[:4]}… failed ({process.returncode}): {err.decode()[-400:]}")
    return seconds, peak, out.decode()


def travelsync(config: Path, *args):
    return timed([sys.executable, "-m", "travelsync", "--config", str(config), "--json", "backup", *args],
                 env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def write_config(path: Path, source: Path, repository: Path) -> None:
    path.write_text(f"repository: {repository}\nsources:\n  - name: home\n    path: {source}\n")


def compare_run(work: Path, files: int, size: int, round_number: int = 0) -> list[tuple]:
    source, bare, repository = work / "source", work / f"bare{round_number}", work / f"repo{round_number}"
    bare.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        print(f"generating {files} files, about {size / 2**20:.0f} MiB in {source} …", flush=True)
        written = generate_tree(source, files, size)
        print(f"  {written / 2**20:.0f} MiB written", flush=True)
    config = work / f"config{round_number}.yaml"
    write_config(config, source, repository)
    rows = []

    def step(name, bare_argv, travelsync_args):
        bare_seconds, _, _ = timed(bare_argv)
        ours, peak, out = travelsync(config, *travelsync_args)
        report = json.loads(out)
        rows.append((name, bare_seconds, ours, ours / bare_seconds, peak, report.get("no_change")))
        print(f"  {name:<11} rsync {bare_seconds:7.2f} s   travelsync {ours:7.2f} s   "
              f"ratio {ours / bare_seconds:5.2f}   travelsync peak RSS {peak / 1024:6.1f} MiB", flush=True)

    print(f"round {round_number + 1}", flush=True)
    step("full", ["rsync", *RSYNC_FLAGS, f"{source}/", f"{bare}/full/"], ["--full"])
    step("unchanged", ["rsync", *RSYNC_FLAGS, f"--link-dest={bare}/full", f"{source}/", f"{bare}/incr1/"],
         ["--incremental"])
    changed = change_one_percent(source, 11 + round_number)
    print(f"  ({changed} files changed)", flush=True)
    step("1% changed", ["rsync", *RSYNC_FLAGS, f"--link-dest={bare}/incr1", f"{source}/", f"{bare}/incr2/"],
         ["--incremental"])
    for folder in (bare, repository):  # keep the disk small between rounds
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def median_rows(rounds: list[list[tuple]]) -> list[tuple]:
    """Per step: the median bare and travelsync times over the rounds, the worst peak RSS."""
    import statistics

    result = []
    for steps in zip(*rounds):
        bare = statistics.median(s[1] for s in steps)
        ours = statistics.median(s[2] for s in steps)
        result.append((steps[0][0], bare, ours, ours / bare, max(s[4] for s in steps), None))
    return result


def memory_run(work: Path, files: int) -> int:
    source, repository = work / f"rss-source-{files}", work / f"rss-repo-{files}"
    generate_tree(source, files, files * 512)
    config = work / f"rss-{files}.yaml"
    write_config(config, source, repository)
    _, peak, _ = travelsync(config, "--full")
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", default="1G", help="total size of the tree (e.g. 100M, 1G)")
    parser.add_argument("--rss-scales", default="10000,100000", help="file counts for the memory runs ('' for none)")
    parser.add_argument("--workdir", help="where to build trees (default: a temp folder, removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--rounds", type=int, default=3, help="repeat the comparison; medians are reported")
    options = parser.parse_args()
    work = Path(options.workdir or tempfile.mkdtemp(prefix="travelsync-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rsync_version = subprocess.run(["rsync", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"machine: {os.cpu_count()} cpus, {rsync_version}", flush=True)
    try:
        rounds = [compare_run(work, options.files, parse_size(options.size), n) for n in range(options.rounds)]
        rows = median_rows(rounds)
        print(f"\nmedians of {options.rounds} rounds")
        print("| step | bare rsync (s) | travelsync (s) | ratio | travelsync peak RSS (MiB) |")
        print("|---|---:|---:|---:|---:|")
        for name, bare_seconds, ours, ratio, peak, _ in rows:
            print(f"| {name} | {bare_seconds:.2f} | {ours:.2f} | {ratio:.2f} | {peak / 1024:.1f} |")
        scales = [int(s) for s in options.rss_scales.split(",") if s.strip()]
        if scales:
            print("\n| files | travelsync peak RSS (MiB) |\n|---:|---:|")
            for files in scales:
                print(f"| {files} | {memory_run(work, files) / 1024:.1f} |", flush=True)
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
