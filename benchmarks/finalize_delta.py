#!/usr/bin/env python3
"""finalize's delta restore (issue 20) against the whole-tree finalize of another checkout.

    benchmarks/finalize_delta.py --before /path/to/old/checkout [--files 50000] [--size 1G]
                                 [--change 0.001] [--rounds 3]

One generated tree (benchmarks/dataset.py, as benchmarks/run's default profile); each round,
for each checkout in an order that alternates: a fresh repository, full backup, prepare, a
seeded change of `--change` of the files, an incremental, finalize; the finalize's wall time
(its own process) and its reported rsync seconds. Medians are printed as a markdown table.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from dataset import TOP_FOLDERS, apply_change, generate_tree, undo_change  # noqa: E402

MOMENTS = {"full": "2026-11-22T02:30:00Z", "prepare": "2026-11-22T18:00:00Z", "changed": "2026-11-23T02:30:00Z",
           "finalize": "2026-11-23T07:00:00Z"}
ARGS = {"full": ["backup", "--full"], "prepare": ["prepare", "--skip-preflight"],
        "changed": ["backup", "--incremental"], "finalize": ["finalize", "--skip-preflight"]}


def run(checkout: Path, folder: Path, step: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "TRAVELSYNC_CONFIG": str(folder / "config.yaml"),
           "XDG_STATE_HOME": str(folder / "state"), "TRAVELSYNC_NOW": MOMENTS[step]}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "travelsync", "--json", *ARGS[step]], env=env, capture_output=True,
                          text=True, cwd=folder)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"{checkout}: {step} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def one_round(checkout: Path, source: Path, work: Path, change: float, seed: int) -> dict:
    folder = work / "round"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    paths = ", ".join(f"home/{top}" for top in TOP_FOLDERS)
    (folder / "config.yaml").write_text(f"repository: {folder / 'repo'}\nsources: [{{name: home, path: {source}}}]\n"
                                        f"laptop: {{host: local, root: {folder / 'laptop'}, paths: [{paths}]}}\n"
                                        "rsync: {retries: 0}\n")
    run(checkout, folder, "full")
    run(checkout, folder, "prepare")
    changed = apply_change(source, work / "stash", seed=seed, fraction=change)
    try:
        run(checkout, folder, "changed")
        wall, report = run(checkout, folder, "finalize")
    finally:
        undo_change(changed)
        shutil.rmtree(work / "stash", ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return {"wall": wall, "rsync": report.get("seconds"), "method": report.get("restore", {}).get("method", "whole"),
            "files": report.get("files_transferred")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes (default 1 GiB)")
    parser.add_argument("--change", type=float, default=0.001, help="fraction of the files changed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    options = parser.parse_args()
    work = Path(options.work or tempfile.mkdtemp(prefix="travelsync-delta-bench-"))
    source = work / "home"
    if not source.exists():
        generate_tree(source, options.files, options.size)
    checkouts = {"before": options.before.resolve(), "after": BENCHMARKS.parent}
    results = {name: [] for name in checkouts}
    for number in range(options.rounds):
        order = list(checkouts) if number % 2 == 0 else list(reversed(checkouts))
        for name in order:
            results[name].append(one_round(checkouts[name], source, work, options.change, seed=11 + number))
            print(name, results[name][-1], file=sys.stderr)
    print(f"| finalize, {options.change:.1%} of {options.files:,} files changed | method | wall s (median) | "
          "rsync s (median) |\n|---|---|---|---|")
    for name, rows in results.items():
        wall = sorted(r["wall"] for r in rows)[len(rows) // 2]
        rsync = sorted(r["rsync"] for r in rows)[len(rows) // 2]
        print(f"| {name} ({checkouts[name]}) | {rows[0]['method']} | {wall:.2f} | {rsync:.2f} |")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
