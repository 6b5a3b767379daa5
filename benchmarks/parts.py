#!/usr/bin/env python3
"""Where a full backup's time goes: travelsync's rsync command taken apart, flag by flag,
beside bare rsync and travelsync itself, alternating in one run (medians of paired ratios).

    python benchmarks/parts.py                     # 50,000 files, 1 GiB, 3 rounds
    python benchmarks/parts.py --files 20000 --size 300M --rounds 5

Each variant copies the same seeded tree into an empty folder (dirty pages written out
before each); the rsync variants write their output to a pipe read by `cat >/dev/null`
(C speed), `reader` is travelsync's own Python reader (rsync/run.py with the manifest
builder, verify/spool.py) on travelsync's command, `travelsync` the whole `backup --full`.
"""

import argparse
import os
import resource
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(os.path.realpath(__file__)).parent
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(1, str(BENCHMARKS.parent))

from dataset import generate_tree  # noqa: E402
from measure import median  # noqa: E402


def travelsync_argv(source: Path, destination: Path, *, listing=True) -> list[str]:
    """The argv travelsync's full backup gives rsync (rsync/args.backup_args), today's code."""
    from travelsync.config.model import RsyncSettings
    from travelsync.location import Location
    from travelsync.rsync.args import backup_args
    from travelsync.rsync.trusted_paths import skip_symlink_walk

    class Source:
        name, path, excludes, filters, one_file_system = "home", source, (), (), False

    closed = skip_symlink_walk("rsync", [str(destination.parent), str(source)])
    return backup_args(RsyncSettings(), None, Source, Location(str(destination)), listing=listing,
                       progress=False, closed_paths=closed)


def without(argv, *drop, replace=None):
    out = [a for a in argv if a not in drop and not any(a.startswith(d + "=") for d in drop if d.startswith("--"))]
    return [replace.get(a, a) for a in out] if replace else out


def variants(source: Path, work: Path) -> dict:
    def dest(name):
        return work / name / "data"

    def ts(name, **kw):
        return travelsync_argv(source, dest(name), **kw)

    bare = ["rsync", "-aHAX", "--numeric-ids", "--delete", "--stats", f"{source}/"]
    full = ts("ts-argv")
    return {
        "rsync": bare + [f"{dest('rsync')}/"],
        "rsync-il": bare[:-1] + ["--insecure-links", f"{source}/", f"{dest('rsync-il')}/"],
        "ts-argv": full,
        "ts-no-AX": without(ts("ts-no-AX"), replace={"-aHAX": "-aH"}),
        "ts-no-sparse": without(ts("ts-no-sparse"), "--sparse"),
        "ts-no-listing": ts("ts-no-listing", listing=False),
        "ts-listing-no-C": [a.replace(" %C", "") for a in without(ts("ts-listing-no-C"), "--checksum-choice")],
    }


def run_rsync_to_null(argv) -> float:
    os.sync()
    started = time.monotonic()
    rsync = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sink = subprocess.Popen(["cat"], stdin=rsync.stdout, stdout=subprocess.DEVNULL)
    rsync.stdout.close()
    code = rsync.wait()
    sink.wait()
    if code not in (0, 24):
        raise SystemExit(f"{argv[:3]}… exit {code}")
    return time.monotonic() - started


def run_reader(source: Path, work: Path) -> float:
    """travelsync's command, its output read by travelsync's own reader (rsync/run.py) into the
    manifest builder (verify/build.py) and spool, as a backup does; no lock, no commit."""
    os.sync()
    started = time.monotonic()
    subprocess.run([sys.executable, os.path.realpath(__file__), "--reader", str(source), str(work / "reader" / "data")],
                   check=True, env={**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)})
    return time.monotonic() - started


def reader(source: Path, destination: Path) -> None:
    import tempfile as temp

    from travelsync.rsync.run import run_rsync
    from travelsync.verify.build import SourceManifest, candidates_resolver
    from travelsync.verify.manifest import SectionSpool

    with temp.TemporaryFile() as handle:
        spool = SectionSpool(handle)
        spool.begin()
        builder = SourceManifest("home", spool, None, lambda names: {}, candidates_resolver(os.fsencode(str(destination))))
        result = run_rsync(travelsync_argv(source, destination), on_files=builder.add_lines)
        builder.finish()
        spool.end()
    if result.exit_code not in (0, 24):
        raise SystemExit(f"rsync exit {result.exit_code}")


def run_travelsync(source: Path, work: Path, checkout: Path = BENCHMARKS.parent, name: str = "travelsync") -> float:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    config.write_text(f"repository: {folder / 'repo'}\nsources: [{{name: home, path: {source}}}]\n"
                      "rsync: {retries: 0}\n")
    env = {**os.environ, "PYTHONPATH": str(checkout), "TRAVELSYNC_CONFIG": str(config),
           "XDG_STATE_HOME": str(folder / "state"), "TRAVELSYNC_NOW": "2026-11-22T02:30:00Z"}
    os.sync()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "travelsync", "--json", "backup", "--full"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--only", help="comma-separated variant names")
    parser.add_argument("--before", type=Path, help="another checkout: its `backup --full` as the variant "
                                                     "travelsync-before")
    parser.add_argument("--reader", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))  # through the `finally` that tidies
    if args.reader:
        reader(*args.reader)
        return 0
    (args.work or BENCHMARKS / "results").mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="parts-", dir=args.work or BENCHMARKS / "results"))
    os.chmod(base, 0o700)
    source = base / "tree"
    print(f"generating {args.files} files …", file=sys.stderr, flush=True)
    generate_tree(source, args.files, args.size)
    names = list(variants(source, base / "r")) + ["reader", "travelsync"] + (["travelsync-before"] if args.before else [])
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    seconds = {n: [] for n in names}
    cpu = {n: [] for n in names}
    try:
        for number in range(args.rounds):
            order = names[number % len(names):] + names[:number % len(names)]
            load = os.getloadavg()[0]
            for name in order:
                work = base / "r"
                shutil.rmtree(work, ignore_errors=True)
                (work / name).mkdir(parents=True)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                if name == "reader":
                    took = run_reader(source, work)
                elif name == "travelsync":
                    took = run_travelsync(source, work)
                elif name == "travelsync-before":
                    took = run_travelsync(source, work, args.before, name)
                else:
                    took = run_rsync_to_null(variants(source, work)[name])
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                seconds[name].append(took)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                print(f"round {number + 1} {name}: {took:.2f} s, cpu {cpu[name][-1]:.2f} s (load {load:.1f})",
                      file=sys.stderr, flush=True)
        print(f"| variant | seconds (median of {args.rounds}) | ÷ rsync (paired, median) | ÷ rsync-il | "
              "CPU seconds, all processes (median) |")
        print("|---|---:|---:|---:|---:|")
        for name in names:
            ratio = median([a / b for a, b in zip(seconds[name], seconds.get("rsync", seconds[name]))])
            ratio_il = median([a / b for a, b in zip(seconds[name], seconds.get("rsync-il", seconds[name]))])
            print(f"| {name} | {median(seconds[name]):.2f} | {ratio:.3f} | {ratio_il:.3f} | {median(cpu[name]):.2f} |")
        print("per round: " + "; ".join(f"{n}: " + ", ".join(f"{s:.2f}" for s in seconds[n]) for n in names))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
