"""travelsync's own costs beside the transfers: peak memory by tree size, start-up, preflight.

Preflight runs only inside a network namespace made here (loopback only), with the namespace's
resolver pointed at a silent listener on its own loopback (/etc/netns/<name>/resolv.conf, which
`ip netns exec` mounts over /etc/resolv.conf). No packet can reach the host's gateway or its
resolver: there is no route out of the namespace.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dataset import generate_tree
from measure import median, timed
from tools import REPO_ROOT

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def travelsync_argv() -> list[str]:
    """The installed `travelsync` entry point next to this Python, else `python -m travelsync`."""
    script = Path(sys.executable).with_name("travelsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "travelsync"]


def peak_memory(work: Path, files: int) -> dict:
    """Peak RSS (VmHWM, the travelsync process only) of a full backup of `files` small files."""
    source, folder = work / f"rss-source-{files}", work / f"rss-{files}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if not source.exists():
        generate_tree(source, files, files * 512, seed=files)
    config = folder / "config.yaml"
    config.write_text(f"repository: {folder / 'repo'}\nsources: [{{name: home, path: {source}}}]\n")
    env = {**ENV, "TRAVELSYNC_CONFIG": str(config), "XDG_STATE_HOME": str(folder / "state")}
    result = timed([sys.executable, "-m", "travelsync", "--json", "backup", "--full"], env=env,
                   watch_memory=True, ok=(0, 3))
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(source, ignore_errors=True)
    return {"files": files, "peak_rss_mib": round(result.peak_kib / 1024, 1), "seconds": round(result.seconds, 2)}


def startup(repeats: int) -> dict:
    """Median wall time of `travelsync --help` and of `python -c pass`, alternated."""
    bare, ours = [], []
    for _ in range(repeats):
        for argv, into in (([sys.executable, "-c", "pass"], bare), ([*travelsync_argv(), "--help"], ours)):
            started = time.monotonic()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=True)
            into.append(time.monotonic() - started)
    bare_ms, ours_ms = median(bare) * 1000, median(ours) * 1000
    return {"python_ms": round(bare_ms, 1), "travelsync_help_ms": round(ours_ms, 1),
            "over_python_ms": round(ours_ms - bare_ms, 1), "repeats": repeats, "target_over_python_ms": 150}


SILENT_RESOLVER = """
import socket, select
socks = []
for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_DGRAM); s.bind((address, 53)); socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(4096)  # heard, never answered: a resolver that has gone quiet
"""


def preflight(work: Path, rounds: int, check_timeout: float) -> dict:
    """Preflight's total against each check alone, in a private network namespace."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return {"skipped": "needs root and ip(8) to make a network namespace"}
    name = f"tsbench-{os.getpid()}"
    netns_etc = Path("/etc/netns") / name
    created_parent = not netns_etc.parent.exists()
    sink = None
    config = work / "preflight.yaml"
    config.write_text(
        f"repository: {work / 'unused-repo'}\nsources: [{{name: home, path: {work}}}]\n"
        "preflight:\n"
        f"  ipv6: {{probe: 'mail.example.invalid:993', timeout: {check_timeout}}}\n"
        "  tunnel: {kind: wireguard, interface: wg0}\n"
        f"  nat64: {{nameserver: '127.0.0.1', timeout: {check_timeout}}}\n"
        f"  portal: {{announced: false, timeout: {check_timeout}}}\n"
        f"  mail: {{servers: ['mail.example.invalid:993'], timeout: {check_timeout}}}\n")
    env = {**ENV, "TRAVELSYNC_CONFIG": str(config), "XDG_STATE_HOME": str(work / "preflight-state")}
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
        netns_etc.mkdir(parents=True)
        (netns_etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        sink = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", SILENT_RESOLVER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if sink.stdout.readline().strip() != b"ready":
            return {"skipped": f"the silent resolver did not start: {sink.stderr.read().decode()[-200:]}"}
        variants = {"total": [], "portal": [], "ipv6": [], "tunnel": [], "nat64": [], "mail": []}
        statuses = {}
        for _ in range(rounds):
            for variant in variants:
                only = [] if variant == "total" else ["--only", variant]
                result = timed(["ip", "netns", "exec", name, *travelsync_argv(), "--json", "preflight", *only],
                               env=env, ok=(0, 1, 3), flush=False)
                variants[variant].append(result.seconds)
                if variant == "total":
                    import json

                    statuses = {c["name"]: c["status"] for c in json.loads(result.stdout)["checks"]}
        seconds = {variant: round(median(values), 3) for variant, values in variants.items()}
        singles = [seconds[n] for n in variants if n != "total"]
        return {"seconds": seconds, "slowest_check": max(singles), "sum_of_checks": round(sum(singles), 3),
                "total_over_slowest": round(seconds["total"] / max(singles), 2), "statuses": statuses,
                "rounds": rounds, "namespace": "private, loopback only"}
    finally:
        if sink is not None:
            sink.kill()
            sink.wait()
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(netns_etc, ignore_errors=True)
        if created_parent:
            try:
                netns_etc.parent.rmdir()
            except OSError:
                pass
