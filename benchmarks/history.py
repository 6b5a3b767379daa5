#!/usr/bin/env python3
"""find, log and diff on synthetic manifests: seconds and peak RSS at 100,000 and 1,000,000
entries (issue 17: RSS at 1M within 1.5 × RSS at 100k).

    python benchmarks/history.py                         # 100,000 and 1,000,000 entries
    python benchmarks/history.py --entries 10000 50000   # quicker

Each size gets a repository of three snapshots whose trees are absent (only snapshot.json
and manifest.tsv.zst: the commands read nothing else): a full, an incremental with 1 % of
the files changed, 0.5 % removed and 0.5 % added, and a third whose manifest lists the same
files shuffled (the order-independent path: external sort). verify is measured without its
hashing (rsync's, the same as before): its comparison of a manifest with a stream of
hashes, in order (rsync's listing) and out of order (spooled, sorted). Peak RSS is the
process's VmHWM (benchmarks/measure.py).
"""

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from measure import timed
from tools import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

from travelsync.history.ordered import path_key  # noqa: E402
from travelsync.repository import layout  # noqa: E402
from travelsync.repository.snapshot import SnapshotInfo  # noqa: E402
from travelsync.verify.manifest import HEADER, Entry, format_line  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
START = datetime(2026, 11, 1, 2, 30, tzinfo=timezone.utc)


VERIFY = """# verify's comparison alone (the hashing is rsync's): a manifest against a stream of hashes
from travelsync.verify.check import compare
from travelsync.verify.manifest import Manifest
hashes = ((e.path, e.digest) for e in Manifest(open({hashes!r}, "rb")))
report = compare("bench", lambda: open({manifest!r}, "rb"), hashes)
print(report.checked, len(report.corrupted), len(report.missing), len(report.extra))
"""
DICT = """# what verify held before issue 17: the whole manifest in a dictionary
from travelsync.verify.manifest import Manifest
expected = {{e.path: (e.digest, e.size) for e in Manifest(open({manifest!r}, "rb"))}}
print(len(expected))
"""


def paths(count: int) -> list[bytes]:
    return sorted((b"home/d%03d/s%02d/file-%07d.txt" % (n % 997, n % 37, n) for n in range(count)), key=path_key)


def write_manifest(path: Path, entries) -> None:
    import zstandard

    with open(path, "wb") as handle, zstandard.ZstdCompressor(level=3).stream_writer(handle) as out:
        out.write(HEADER)
        batch = []
        for entry in entries:
            batch.append(format_line(entry))
            if len(batch) >= 10_000:
                out.write(b"".join(batch))
                batch = []
        out.write(b"".join(batch))


def build(root: Path, count: int, seed: int = 17) -> list[str]:
    """A repository of three snapshots (no trees) with manifests of about `count` entries."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / layout.REPO_FILE).write_text(layout.repo_file_text(START, "bench"))
    (root / layout.PARTIAL).mkdir()
    files = paths(count)
    first = {p: (1000 + n % 5000, "%032x" % n) for n, p in enumerate(files)}
    second = dict(first)
    for path in rng.sample(files, count // 100):
        size, digest = second[path]
        second[path] = (size + 1, "%032x" % rng.getrandbits(128))
    for path in rng.sample(files, count // 200):
        del second[path]
    for n in range(count // 200):
        second[b"home/new/added-%07d.txt" % n] = (10, "%032x" % n)
    ids = []
    for day, (kind, tree, shuffled) in enumerate((("full", first, False), ("incremental", second, False),
                                                  ("incremental", second, True))):
        started = START + timedelta(days=day)
        snapshot_id = layout.snapshot_id(started, kind, set(ids))
        folder = root / layout.SNAPSHOTS / snapshot_id
        folder.mkdir(parents=True)
        entries = [Entry(p, size, digest) for p, (size, digest) in tree.items()]
        entries.sort(key=lambda e: path_key(e.path))
        if shuffled:
            rng.shuffle(entries)
        write_manifest(folder / layout.MANIFEST_FILE, entries)
        info = SnapshotInfo(snapshot_id, kind, ids[-1] if ids else None, started, started + timedelta(minutes=5),
                            "complete", len(entries), sum(e.size for e in entries), sources=("home",))
        (folder / layout.SNAPSHOT_FILE).write_text(json.dumps(info.to_json()))
        ids.append(snapshot_id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--only", default="", help="Only the commands whose label holds this text (e.g. verify).")
    options = parser.parse_args()
    work = Path(options.workdir or tempfile.mkdtemp(prefix="travelsync-history-bench-"))
    rows = []
    for count in options.entries:
        repo = work / f"repo-{count}"
        ids = build(repo, count) if not repo.exists() else sorted(p.name for p in (repo / layout.SNAPSHOTS).iterdir())
        config = work / f"config-{count}.yaml"
        config.write_text(f"repository: {repo}\nsources: [{{name: home, path: {work}}}]\n"
                          "schedule: {timezone: UTC}\n")
        env = {**ENV, "TRAVELSYNC_CONFIG": str(config), "XDG_STATE_HOME": str(work / "state")}
        probe = paths(count)[count // 2].decode()
        runs = {
            "find (glob, 3 snapshots)": ["find", "*file-00000*"],
            "log (one file, 3 snapshots)": ["log", probe],
            "diff (in order)": ["diff", ids[0], ids[1]],
            "diff (shuffled: external sort)": ["diff", ids[0], ids[2]],
        }
        manifests = [repo / layout.SNAPSHOTS / i / layout.MANIFEST_FILE for i in ids]
        runs["verify's join (hashes in order)"] = [VERIFY.format(manifest=str(manifests[1]), hashes=str(manifests[1]))]
        runs["verify's join (hashes out of order)"] = [VERIFY.format(manifest=str(manifests[1]), hashes=str(manifests[2]))]
        runs["verify before issue 17 (a dict of the manifest)"] = [DICT.format(manifest=str(manifests[1]))]
        for label, args in runs.items():
            if options.only not in label:
                continue
            argv = [sys.executable, "-c", args[0]] if args[0].startswith("#") else \
                [sys.executable, "-m", "travelsync", *args]
            result = timed(argv, env=env, watch_memory=True, ok=(0, 3))
            rows.append((count, label, result.seconds, result.peak_kib * 1024))
            print(f"{count:>9,}  {label:<32} {result.seconds:7.2f} s  {result.peak_kib / 1024:7.1f} MiB", flush=True)
    print("\n| entries | command | seconds | peak RSS |\n|---:|---|---:|---:|")
    for count, label, seconds, peak in rows:
        print(f"| {count:,} | {label} | {seconds:.2f} | {peak / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
