#!/usr/bin/env python3
"""`offsite sync` of a 1 % change against bare rsync of the same snapshot, plain and encrypted.

    python3 benchmarks/offsite.py                      # 3,000 files, ~150 MB, 3 rounds
    python3 benchmarks/offsite.py --files 500 --size 20M --rounds 1   # quick

Each round: a seeded tree (benchmarks/dataset.py) backed up (full), the full copied to a plain
and an encrypted off-site copy (and by bare rsync to a bare copy, and through a gocryptfs
-reverse view to a bare encrypted copy), then a seeded 1 % change backed up (incremental).
Timed, in an order that rotates each round:
  plain      travelsync offsite sync plain   vs  rsync -aHAX --numeric-ids --delete
                                                 --link-dest=BARE/full REPO/snapshots/INCR/ BARE/incr/
  encrypted  travelsync offsite sync secret  vs  gocryptfs -reverse (mount) + the same rsync -aH of
                                                 the view + fusermount -u
Each bare run is also reported followed by `sync -f` on the copy: the durability that
travelsync's commit buys with syncfs before snapshot.json.
Medians and ratios (travelsync / bare) as a markdown table on stdout and in --out/offsite.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dataset import apply_change, generate_tree  # noqa: E402
from benchmarks.measure import median, timed  # noqa: E402

FULL_AT, INCR_AT = "2026-11-22T02:30:00+00:00", "2026-11-23T02:30:00+00:00"


def size_arg(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def travelsync(config: Path, *args, now: str):
    env = {**os.environ, "TRAVELSYNC_NOW": now}
    return timed([sys.executable, "-m", "travelsync", "--config", str(config), *args], env=env)


def round_once(base: Path, files: int, size: int, order: int) -> dict:
    home, repo = base / "home", base / "repo"
    home.mkdir()
    generate_tree(home, files, size)
    password = base / "password"
    password.write_text("benchmark password\n")
    config = base / "config.yaml"
    config.write_text(json.dumps({
        "repository": str(repo), "sources": [{"name": "home", "path": str(home)}],
        "offsite": [{"name": "plain", "repository": str(base / "copy-plain")},
                    {"name": "secret", "repository": str(base / "copy-secret"), "encryption": "gocryptfs",
                     "password_command": f"cat {password}"}]}))
    travelsync(config, "backup", "--full", now=FULL_AT)
    travelsync(config, "offsite", "sync", now=FULL_AT)
    full = sorted((repo / "snapshots").iterdir())[-1]
    bare, bare_secret = base / "bare", base / "bare-secret"
    rsync = ["rsync", "-aHAX", "--numeric-ids", "--delete"]
    bare.mkdir()
    bare_secret.mkdir()
    timed(rsync + [f"{full}/", f"{bare}/full/"])
    conf = base / "bare-gocryptfs.conf"
    (base / "empty-for-init").mkdir()
    subprocess.run(["gocryptfs", "-init", "-reverse", "-q", "-passfile", str(password),
                    str(base / "empty-for-init")], check=True, capture_output=True)
    shutil.move(base / "empty-for-init" / ".gocryptfs.reverse.conf", conf)
    view = base / "view"
    view.mkdir()

    def bare_encrypted(snapshot: Path, target: Path, link: Path | None) -> tuple[float, float]:
        mount = timed(["gocryptfs", "-reverse", "-q", "-config", str(conf), "-passfile", str(password),
                       str(snapshot), str(view)], flush=False)
        copy = timed(["rsync", "-aH", "--numeric-ids", "--delete"] + ([f"--link-dest={link}"] if link else [])
                     + [f"{view}/", f"{target}/"])
        unmount = timed(["fusermount3", "-u", str(view)], flush=False)
        return mount.seconds + copy.seconds + unmount.seconds, synced(target)

    def bare_plain() -> tuple[float, float]:
        return timed(rsync + [f"--link-dest={bare}/full", f"{incr}/", f"{bare}/incr/"]).seconds, synced(bare / "incr")

    bare_encrypted(full, bare_secret / "full", None)
    apply_change(home, base / "stash")
    travelsync(config, "backup", "--incremental", now=INCR_AT)
    incr = sorted((repo / "snapshots").iterdir())[-1]
    steps = {
        "plain travelsync": lambda: travelsync(config, "offsite", "sync", "plain", now=INCR_AT).seconds,
        "plain rsync": bare_plain,
        "encrypted travelsync": lambda: travelsync(config, "offsite", "sync", "secret", now=INCR_AT).seconds,
        "encrypted rsync": lambda: bare_encrypted(incr, bare_secret / "incr", bare_secret / "full"),
    }
    names = list(steps)
    names = names[order % len(names):] + names[:order % len(names)]
    results = {}
    for name in names:
        value = steps[name]()
        if isinstance(value, tuple):  # bare: the copy, then `sync -f` (the durability travelsync's commit has)
            results[name], results[name + " + sync -f"] = value[0], value[0] + value[1]
        else:
            results[name] = value
    return results


def synced(folder: Path) -> float:
    """`sync -f` on the copy's file system: what travelsync's commit (syncfs) pays for durability."""
    return timed(["sync", "-f", str(folder)], flush=False).seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--size", type=size_arg, default=size_arg("150M"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    options = parser.parse_args()
    results = []
    for number in range(options.rounds):
        base = Path(tempfile.mkdtemp(prefix="travelsync-offsite-bench-"))
        try:
            results.append(round_once(base, options.files, options.size, number))
        finally:
            subprocess.run(["fusermount3", "-u", str(base / "view")], capture_output=True)
            shutil.rmtree(base, ignore_errors=True)
    rows = ["| step | travelsync (s) | bare (s) | ÷ bare | bare + sync -f (s) | ÷ bare + sync -f |",
            "|---|---:|---:|---:|---:|---:|"]
    summary = {}
    for kind in ("plain", "encrypted"):
        ours = median([r[f"{kind} travelsync"] for r in results])
        bare = median([r[f"{kind} rsync"] for r in results])
        durable = median([r[f"{kind} rsync + sync -f"] for r in results])
        summary[kind] = {"travelsync": ours, "bare": bare, "ratio": ours / bare, "bare_sync": durable,
                         "ratio_sync": ours / durable}
        rows.append(f"| offsite sync after a 1 % change, {kind} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f} "
                    f"| {durable:.2f} | {ours / durable:.2f} |")
    print("\n".join(rows))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "offsite.json").write_text(json.dumps({"rounds": results, "medians": summary,
                                                          "files": options.files, "bytes": options.size}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
