#!/usr/bin/env python3
"""finalize's delta restore (issue 20) against the whole-tree finalize of another checkout,
on the same repository and the same laptop.

    benchmarks/finalize_delta.py --before /path/to/old/checkout [--files 50000] [--size 1G]
                                 [--change 0.001] [--rounds 5] [--work DIR]

One generated tree (benchmarks/dataset.py, as benchmarks/run's default profile), backed up
full by this checkout and prepared onto a laptop folder by the older one; then a seeded change of `--change`
of the files (60 % modified, 25 % added, 15 % deleted) and an incremental. Each round puts
the prepared laptop and trip state back and runs finalize with each checkout, in an order
that alternates: its wall time (its own process, start-up included) and its reported rsync
seconds. Medians are printed as a markdown table. The older checkout ignores the change
lists and compares the whole tree, as it always did.
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

from dataset import TOP_FOLDERS, apply_change, generate_tree  # noqa: E402

MOMENTS = {"full": "2026-11-22T02:30:00Z", "prepare": "2026-11-22T18:00:00Z", "changed": "2026-11-23T02:30:00Z",
           "finalize": "2026-11-23T07:00:00Z"}
ARGS = {"full": ["backup", "--full"], "prepare": ["prepare", "--skip-preflight"],
        "changed": ["backup", "--incremental"], "finalize": ["finalize", "--skip-preflight"]}


def run(checkout: Path, work: Path, step: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "TRAVELSYNC_CONFIG": str(work / "config.yaml"),
           "XDG_STATE_HOME": str(work / "state"), "TRAVELSYNC_NOW": MOMENTS[step]}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "travelsync", "--json", *ARGS[step]], env=env, capture_output=True,
                          text=True, cwd=work)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"{checkout}: {step} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def put_back(work: Path) -> None:
    """The laptop and the trip state as prepare left them."""
    subprocess.run(["rsync", "-aH", "--delete", f"{work / 'laptop.prepared'}/", f"{work / 'laptop'}/"], check=True)
    shutil.rmtree(work / "state", ignore_errors=True)
    shutil.copytree(work / "state.prepared", work / "state", symlinks=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes (default 1 GiB)")
    parser.add_argument("--change", type=float, default=0.001, help="fraction of the files changed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="kept, and its tree reused, when given")
    options = parser.parse_args()
    work = Path(options.work or tempfile.mkdtemp(prefix="travelsync-delta-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "home"
    if not source.exists():
        generate_tree(source, options.files, options.size)
    for stale in ("repo", "laptop", "laptop.prepared", "state", "state.prepared", "stash"):
        shutil.rmtree(work / stale, ignore_errors=True)
    paths = ", ".join(f"home/{top}" for top in TOP_FOLDERS)
    (work / "config.yaml").write_text(f"repository: {work / 'repo'}\nsources: [{{name: home, path: {source}}}]\n"
                                      f"laptop: {{host: local, root: {work / 'laptop'}, paths: [{paths}]}}\n"
                                      "rsync: {retries: 0}\n")
    after = BENCHMARKS.parent
    run(after, work, "full")  # its change list (scope whole) names the excludes the incremental's is checked against
    run(options.before, work, "prepare")  # a trip state both read (an older one refuses a field it does not know)
    subprocess.run(["rsync", "-aH", f"{work / 'laptop'}/", f"{work / 'laptop.prepared'}/"], check=True)
    shutil.copytree(work / "state", work / "state.prepared", symlinks=True)
    change = apply_change(source, work / "stash", fraction=options.change)
    run(after, work, "changed")
    checkouts = {"before": options.before.resolve(), "after": after}
    results = {name: [] for name in checkouts}
    for number in range(options.rounds):
        for name in (list(checkouts) if number % 2 == 0 else list(reversed(checkouts))):
            put_back(work)
            wall, report = run(checkouts[name], work, "finalize")
            results[name].append({"wall": wall, "rsync": report.get("seconds"),
                                  "method": report.get("restore", {}).get("method", "whole"),
                                  "files": report.get("files_transferred")})
            print(name, results[name][-1], file=sys.stderr)
    changed = len(change.modified) + len(change.added) + len(change.deleted)
    print(f"| finalize after {changed} of {options.files:,} files changed ({options.change:.1%}) | method | "
          f"wall s, median of {options.rounds} | rsync s, median |\n|---|---|---|---|")
    for name, rows in results.items():
        wall = sorted(r["wall"] for r in rows)[len(rows) // 2]
        rsync = sorted(r["rsync"] for r in rows)[len(rows) // 2]
        print(f"| {name} ({checkouts[name]}) | {rows[0]['method']} | {wall:.2f} | {rsync:.2f} |")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
