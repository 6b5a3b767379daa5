"""Reading the machine's network state: `ip -j`, /proc, ping. The side-effect half of preflight.

Everything here returns facts (parsed by the pure modules routes.py and tunnels.py) or a
plain reason why it could not: `ip` missing, IPv6 disabled, not root. Nothing changes state.
"""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from travelsync.errors import TravelsyncError
from travelsync.preflight import routes, tunnels
from travelsync.process import ProgramMissing, run


class NetinfoError(TravelsyncError):
    """The state could not be read; the message says why in one line."""


def ipv6_disabled_reason(proc_root: str = "/proc") -> str | None:
    """None when the kernel has IPv6 enabled, else why not (the text a user can act on)."""
    root = Path(proc_root)
    if not (root / "net" / "if_inet6").exists():
        return "this kernel has no IPv6 (no /proc/net/if_inet6)"
    try:
        if (root / "sys/net/ipv6/conf/all/disable_ipv6").read_text().strip() == "1":
            return "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6=1)"
    except OSError:
        pass
    return None


def ip_json(*arguments: str, runner=run, timeout: float = 5.0) -> bytes:
    """Run `ip -j ARGUMENTS` and return its JSON; NetinfoError when `ip` is missing or fails."""
    try:
        done = runner(["ip", "-j", *arguments], timeout=timeout)
    except ProgramMissing:
        raise NetinfoError("`ip` is not installed (Debian package iproute2): routes and addresses cannot be read")
    if not done.ok:
        raise NetinfoError(f"`ip -j {' '.join(arguments)}` failed: {done.error_line()}")
    return done.stdout


@dataclass(frozen=True)
class NetFacts:
    addresses: tuple = ()
    routes: tuple = ()
    links: tuple = ()
    ipv4_default_interface: str | None = None
    is_root: bool = False


def collect(*, runner=run, timeout: float = 5.0, with_links: bool = False) -> NetFacts:
    """Read addresses and routes (and links for the tunnel check). Raise NetinfoError with the
    reason when they cannot be read."""
    disabled = ipv6_disabled_reason()
    if disabled:
        raise NetinfoError(disabled)
    addresses = routes.parse_addresses(ip_json("-6", "addr", runner=runner, timeout=timeout))
    route_list = routes.parse_routes(ip_json("-6", "route", runner=runner, timeout=timeout))
    links, v4_interface = (), None
    if with_links:
        links = tunnels.parse_links(ip_json("-d", "link", runner=runner, timeout=timeout))
        v4_routes = routes.parse_routes(ip_json("-4", "route", "show", "default", runner=runner, timeout=timeout))
        v4_interface = next((r.interface for r in v4_routes if r.is_default), None)
    return NetFacts(addresses, route_list, links, v4_interface, is_root())


def is_root() -> bool:
    return os.geteuid() == 0


def ping_target(gateway: str, interface: str | None) -> str:
    """Link-local gateways need their interface as a zone: fe80::1%eth0."""
    link_local = gateway.lower().startswith("fe80:")
    return f"{gateway}%{interface}" if link_local and interface and "%" not in gateway else gateway


def ping(gateway: str, interface: str | None, *, runner=run, wait: float = 1.0) -> bool | None:
    """One echo request: True answered, False no answer, None could not ask (no ping, no permission)."""
    try:
        done = runner(["ping", "-6", "-n", "-c1", f"-W{max(1, round(wait))}", ping_target(gateway, interface)],
                      timeout=wait + 2)
    except (ProgramMissing, TravelsyncError):
        return None
    if done.returncode == 0:
        return True
    return False if done.returncode == 1 else None


def ping_all(targets, *, runner=run, wait: float = 1.0) -> dict:
    """Ping every (gateway, interface) at once; the whole takes about `wait`, not its multiple."""
    answers: dict = {}
    threads = []
    for gateway, interface in dict.fromkeys(targets):
        def ask(gateway=gateway, interface=interface):
            answers[(gateway, interface)] = ping(gateway, interface, runner=runner, wait=wait)
        thread = threading.Thread(target=ask, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(wait + 3)
    return answers


@dataclass(frozen=True)
class Process:
    pid: int
    name: str  # /proc/PID/comm
    argv: tuple = field(default=())


def processes(proc_root: str = "/proc") -> tuple[Process, ...]:
    """Every process we may look at (name and command line); vanished ones are skipped."""
    found = []
    for entry in Path(proc_root).iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            argv = tuple(a for a in (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0") if a)
        except OSError:
            continue
        found.append(Process(int(entry.name), name, argv))
    return tuple(found)
