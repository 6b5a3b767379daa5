"""Tunnel interfaces from `ip -j -d link`, and whether the configured tunnel is up, down or stuck.

Pure: links, addresses, routes and the process list come in as data (netinfo.py reads them).
A tunnel client that runs while its interface is missing or down is "stuck" — gogoc on a
changed Wi-Fi is the classic case, cured by restarting it (`gogoc -n -s wlan0`).
"""

import json
import os
from dataclasses import dataclass

from travelsync.preflight.model import FAIL, OK, SKIP, WARN
from travelsync.preflight.routes import IpOutputError

TUNNEL_LINK_KINDS = ("tun", "sit", "wireguard", "ip6tnl", "gre", "ip6gre", "ipip")


@dataclass(frozen=True)
class TunnelKind:
    interface: str  # the usual interface name
    link_kinds: tuple[str, ...]  # `linkinfo.info_kind` values that fit
    clients: tuple[str, ...]  # program names of the client that owns the interface


KINDS = {
    "gogoc": TunnelKind("tun", ("tun", "sit"), ("gogoc", "gw6c")),
    "6in4": TunnelKind("sit1", ("sit",), ()),
    "teredo": TunnelKind("teredo", ("tun",), ("miredo",)),
    "wireguard": TunnelKind("wg0", ("wireguard", "tun"), ("wireguard-go", "boringtun")),
    "tun": TunnelKind("tun0", ("tun",), ("gogoc", "gw6c", "miredo", "openvpn", "aiccu")),
}


@dataclass(frozen=True)
class Link:
    name: str
    kind: str | None  # linkinfo.info_kind: tun, sit, wireguard, veth, bridge, ...
    up: bool  # administratively up (flag UP)
    carrier: bool  # LOWER_UP: for tun, a program holds the device open
    operstate: str = "UNKNOWN"

    def state(self) -> str:
        if not self.up:
            return "down"
        return "up" if self.carrier else "up but without carrier (no program holds it)"


def parse_links(text: str | bytes) -> tuple[Link, ...]:
    """Given the output of `ip -j -d link`, return every link with its kind and state."""
    try:
        data = json.loads(text or "[]")
    except ValueError as error:
        raise IpOutputError(f"`ip -j -d link` printed no JSON ({error})")
    links = []
    for entry in data:
        flags = set(entry.get("flags", ()))
        links.append(Link(name=entry.get("ifname", "?"), kind=(entry.get("linkinfo") or {}).get("info_kind"),
                          up="UP" in flags, carrier="LOWER_UP" in flags and "NO-CARRIER" not in flags,
                          operstate=entry.get("operstate", "UNKNOWN")))
    return tuple(links)


def tunnel_interfaces(links, configured: str | None = None) -> tuple[str, ...]:
    """Interfaces that are tunnels (excluded when asking whether native IPv6 works)."""
    names = {link.name for link in links if link.kind in TUNNEL_LINK_KINDS or link.name.startswith("teredo")}
    if configured:
        names.add(configured)
    return tuple(sorted(names))


def running_clients(kind: str, processes) -> tuple:
    """Processes of this tunnel kind's client programs (by name or by argv[0])."""
    wanted = set(KINDS[kind].clients) if kind in KINDS else set()
    return tuple(p for p in processes
                 if p.name in wanted or (p.argv and os.path.basename(p.argv[0]) in wanted))


def start_command(kind: str | None, interface: str, configured: str | None, link: Link | None,
                  ipv4_interface: str | None) -> str | None:
    """The command --fix offers: the configured one, else the usual one for the kind."""
    if configured:
        return configured
    if kind == "gogoc" and ipv4_interface:
        return f"gogoc -n -s {ipv4_interface}"
    if kind == "wireguard":
        return f"wg-quick up {interface}"
    if kind == "teredo":
        return "miredo"
    if link is not None and not link.up:
        return f"ip link set {interface} up"
    return None


@dataclass(frozen=True)
class TunnelDiagnosis:
    status: str
    summary: str
    details: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    stuck_pids: tuple[int, ...] = ()


def diagnose_tunnel(*, kind: str | None, interface: str | None, start: str | None, links, addresses, routes,
                    processes, native: tuple[bool, str], ipv4_interface: str | None = None) -> TunnelDiagnosis:
    """Given the configured tunnel and the machine's facts, say whether the tunnel is needed and fine."""
    if kind is None and interface is None:
        return TunnelDiagnosis(SKIP, "no tunnel configured (preflight.tunnel.kind)")
    native_works, native_why = native
    if native_works:
        return TunnelDiagnosis(OK, "not needed: native IPv6 works", (native_why,))
    kind = kind or "tun"
    name = interface or KINDS[kind].interface
    link = next((l for l in links if l.name == name), None)
    clients = running_clients(kind, processes)
    details = [f"no native IPv6: {native_why}"]
    command = start_command(kind, name, start, link, ipv4_interface)

    def failing(summary: str, stuck: bool = False) -> TunnelDiagnosis:
        fix = []
        if stuck:
            fix += [f"kill {p.pid}" for p in clients]
        if command:
            fix.append(command)
        else:
            details.append("set preflight.tunnel.start to let --fix start the tunnel")
        return TunnelDiagnosis(FAIL, summary, tuple(details), tuple(fix), tuple(p.pid for p in clients) if stuck else ())

    running = ", ".join(f"{p.name} (pid {p.pid})" for p in clients)
    if link is None or not (link.up and link.carrier):
        state = "does not exist" if link is None else f"is {link.state()}"
        if clients:
            return failing(f"stuck: {running} is running but tunnel interface {name} {state}", stuck=True)
        return failing(f"tunnel interface {name} {state}")
    if link.kind not in KINDS[kind].link_kinds:
        details.append(f"{name} is a {link.kind or 'plain'} link, not the {'/'.join(KINDS[kind].link_kinds)} "
                       f"a {kind} tunnel uses")
    usable = [a for a in addresses if a.interface == name and a.unusable_reason() is None]
    if not usable:
        found = [a.describe() for a in addresses if a.interface == name and a.scope == "global"]
        return failing(f"tunnel interface {name} is up but has no usable global IPv6 address"
                       + (f" ({'; '.join(found)})" if found else ""))
    through = [r for r in routes if r.is_default and r.interface == name and not r.expired]
    if not through:
        return failing(f"tunnel interface {name} is up with {usable[0].address} but no IPv6 default route uses it")
    details.append(f"route {through[0].describe()}")
    if clients:
        details.append(f"client: {running}")
    status = WARN if any("not the" in d for d in details) else OK
    return TunnelDiagnosis(status, f"tunnel {name} ({link.kind}) is up with {usable[0].address}", tuple(details))
