"""A laptop behind a network link, for the restores as they happen on a trip's eve.

On one machine a "restore onto the laptop" is a copy between two folders of the same disk,
often from the page cache: a 1 GiB full restore takes seconds and the fixed cost of
comparing 50,000 files weighs as much as the data. A real laptop is another machine: the
full restore crosses the home network, which is what makes it "the big transfer".

Here the laptop is a network namespace made for the run, joined to this machine by a veth
pair whose two ends are rate-limited (tbf) to the link's speed, with an sshd of its own
(the tests' throwaway one, tests/fixtures/sshd.py) listening inside. Its folder is on this
machine's disk, written by the rsync that sshd starts in the namespace. The addresses come from 198.18.0.0/16 (RFC 2544,
set aside for benchmarks); the namespace has no other interface and no route out, so no
packet can go anywhere but between the two ends.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(k|m|g)bit$")


def rate_bits(text: str) -> int:
    """'1gbit' → 1_000_000_000 (tc's units: k, m, g are powers of 1000). ValueError otherwise."""
    match = _RATE.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a link rate: {text!r} (e.g. 1gbit, 300mbit)")
    return int(float(match.group(1)) * {"k": 10**3, "m": 10**6, "g": 10**9}[match.group(2)])


def unavailable() -> str | None:
    """Why no link can be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespace, tc, sshd)"
    missing = [p for p in ("ip", "tc", "ssh", "ssh-keygen") if not shutil.which(p)]
    if not Path(SSHD).exists():
        missing.append(SSHD)
    return f"not installed: {', '.join(missing)}" if missing else None


@dataclass
class Link:
    rate: str  # as given, e.g. "1gbit"
    laptop_address: str  # inside the namespace (home's end is the address before it)
    namespace: str
    host_veth: str
    port: int
    user: str
    identity: Path
    known_hosts: Path
    sshd_pid: int = 0

    def ssh_command(self) -> str:
        """rsync's `-e`: the same ssh options travelsync's `ssh:` section gives it."""
        return (f"ssh -p {self.port} -i {self.identity} -o BatchMode=yes "
                f"-o UserKnownHostsFile={self.known_hosts}")

    def ssh_settings(self) -> dict:
        """travelsync's `ssh:` section for this link."""
        return {"port": self.port, "identity": str(self.identity),
                "options": ["-o", f"UserKnownHostsFile={self.known_hosts}"]}

    def target(self, path) -> str:
        return f"{self.user}@{self.laptop_address}:{path}"


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def open_link(rate: str, folder: Path, number: int = 0) -> Link:
    """Namespace, veth pair shaped to `rate` both ways, sshd inside; close_link undoes it.
    `number` (0–255) keeps several links of one run apart: 198.18.<number>.1 and .2."""
    bits = rate_bits(rate)
    suffix = f"{os.getpid() % 10000}x{number}"  # interface names: 15 characters at most
    home_address, laptop_address = f"198.18.{number}.1", f"198.18.{number}.2"
    link = Link(rate, laptop_address, f"tslink-{suffix}", f"tsl{suffix}h", 2222, "root", folder / "client_key",
                folder / "known_hosts")
    inner = f"tsl{suffix}l"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _run("ip", "netns", "add", link.namespace)
        _run("ip", "link", "add", link.host_veth, "type", "veth", "peer", "name", inner)
        _run("ip", "link", "set", inner, "netns", link.namespace)
        _run("ip", "addr", "add", f"{home_address}/30", "dev", link.host_veth)
        _run("ip", "link", "set", link.host_veth, "up")
        _run("ip", "-n", link.namespace, "addr", "add", f"{laptop_address}/30", "dev", inner)
        _run("ip", "-n", link.namespace, "link", "set", inner, "up")
        _run("ip", "-n", link.namespace, "link", "set", "lo", "up")
        # A token bucket on each end's egress: a bucket of 10 ms at the rate (at least 64 KiB,
        # what a timer tick at 1 gbit needs), queueing up to 50 ms before it drops.
        burst = max(bits // 8 // 100, 64 * 1024)
        shape = ["root", "tbf", "rate", str(bits), "burst", str(burst), "latency", "50ms"]
        _run("tc", "qdisc", "add", "dev", link.host_veth, *shape)
        _run("ip", "netns", "exec", link.namespace, "tc", "qdisc", "add", "dev", inner, *shape)
        _start_sshd(link, folder)
    except BaseException:
        close_link(link)
        raise
    return link


def _start_sshd(link: Link, folder: Path) -> None:
    """The tests' throwaway sshd (tests/fixtures/sshd.py: its own host key, a client key
    authorised for root, key login only), started inside the namespace."""
    from tests.fixtures.sshd import start_sshd

    link.sshd_pid = start_sshd(folder, address=link.laptop_address, namespace=link.namespace, port=link.port).pid


def close_link(link: Link) -> None:
    """Stop sshd, remove the namespace and the veth pair (each step tolerates what is gone)."""
    if link.sshd_pid:
        try:
            os.kill(link.sshd_pid, 15)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "link", "del", link.host_veth], capture_output=True)
    subprocess.run(["ip", "netns", "del", link.namespace], capture_output=True)
