"""The kernel's IPv6 addresses and default routes as typed facts, and what is wrong with them.

Pure: the input is the JSON of `ip -j -6 addr` and `ip -j -6 route`, the output a diagnosis.
Nothing here runs a program, so every rule is unit-tested on outputs captured from real
namespaces (tests/unit/data/ip/).
"""

import ipaddress
import json
from dataclasses import dataclass, field

from travelsync.preflight.model import FAIL, OK, WARN

ULA = ipaddress.IPv6Network("fc00::/7")
SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
SEVERITY_ORDER = (OK, WARN, FAIL)


class IpOutputError(ValueError):
    """`ip -j` printed something that is not the JSON we expect (an iproute2 too old for -j?)."""


@dataclass(frozen=True)
class Address:
    interface: str
    address: str
    prefixlen: int
    scope: str
    tentative: bool = False
    dadfailed: bool = False
    deprecated: bool = False
    preferred_lifetime: int | None = None  # seconds; None = forever
    valid_lifetime: int | None = None

    @property
    def ip(self) -> ipaddress.IPv6Address:
        return ipaddress.IPv6Address(self.address.split("%")[0])

    @property
    def is_ula(self) -> bool:
        return self.ip in ULA

    def unusable_reason(self) -> str | None:
        """Why this address cannot carry traffic to the Internet, or None when it can.

        Deliberately not `ipaddress.is_global`: that rejects Teredo (2001::/32) and the
        documentation range, which are usable here.
        """
        ip = self.ip
        if self.scope != "global" or ip.is_link_local or ip.is_loopback or ip.is_multicast or ip.is_unspecified:
            return f"scope {self.scope}"
        if ip.ipv4_mapped is not None or ip in SITE_LOCAL:
            return "not a global unicast address"
        if self.is_ula:
            return "unique-local (fc00::/7): not routed on the Internet"
        if self.dadfailed:
            return "dadfailed: another host on the link uses it"
        if self.tentative:
            return "tentative: duplicate address detection has not finished (no carrier?)"
        if self.deprecated or self.preferred_lifetime == 0:
            return "deprecated: preferred lifetime 0, not used for new connections"
        return None

    def describe(self) -> str:
        reason = self.unusable_reason()
        return f"{self.address}/{self.prefixlen} on {self.interface}" + (f" ({reason})" if reason else "")


@dataclass(frozen=True)
class Route:
    destination: str  # "default" or a prefix
    interface: str | None
    gateway: str | None = None
    protocol: str | None = None  # "ra", "static", "kernel", "boot", ...
    metric: int | None = None
    expires: int | None = None  # seconds left; negative: expired, still present until garbage collection
    pref: str | None = None
    flags: tuple[str, ...] = ()
    kind: str = "unicast"  # unicast | blackhole | unreachable | prohibit | ...
    metrics: tuple[tuple[str, object], ...] = ()  # `ip -j`'s "metrics": (("hoplimit", 64),) from an RA

    @property
    def is_default(self) -> bool:
        return self.destination in ("default", "::/0") and self.kind == "unicast"

    @property
    def from_ra(self) -> bool:
        return self.protocol == "ra"

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires < 0

    def describe(self) -> str:
        text = f"default via {self.gateway}" if self.gateway else "default"
        text += f" dev {self.interface} proto {self.protocol or 'boot'}"
        if self.metric is not None:
            text += f" metric {self.metric}"
        if self.expires is not None:
            text += f" expires {self.expires}s"
        if "linkdown" in self.flags:
            text += " linkdown"
        return text


def _load(text: str | bytes, what: str) -> list:
    try:
        data = json.loads(text or "[]")
    except ValueError as error:
        raise IpOutputError(f"`ip -j {what}` printed no JSON ({error}); is iproute2 older than 4.14?")
    if not isinstance(data, list):
        raise IpOutputError(f"`ip -j {what}` printed {type(data).__name__}, expected a list")
    return data


def _lifetime(value) -> int | None:
    return None if value is None or value == 4294967295 else int(value)


def parse_addresses(text: str | bytes) -> tuple[Address, ...]:
    """Given the output of `ip -j -6 addr`, return its IPv6 addresses (IPv4 entries are skipped)."""
    addresses = []
    for link in _load(text, "-6 addr"):
        for info in link.get("addr_info", ()):
            if info.get("family") != "inet6" or "local" not in info:
                continue
            addresses.append(Address(
                interface=link.get("ifname", "?"), address=info["local"], prefixlen=int(info.get("prefixlen", 128)),
                scope=info.get("scope", "global"), tentative=bool(info.get("tentative")),
                dadfailed=bool(info.get("dadfailed")), deprecated=bool(info.get("deprecated")),
                preferred_lifetime=_lifetime(info.get("preferred_life_time")),
                valid_lifetime=_lifetime(info.get("valid_life_time"))))
    return tuple(addresses)


def parse_routes(text: str | bytes) -> tuple[Route, ...]:
    """Given the output of `ip -j -6 route`, return its routes."""
    routes = []
    for entry in _load(text, "-6 route"):
        if "dst" not in entry:
            continue
        routes.append(Route(
            destination=entry["dst"], interface=entry.get("dev"), gateway=entry.get("gateway"),
            protocol=entry.get("protocol"), metric=entry.get("metric"),
            expires=int(entry["expires"]) if "expires" in entry else None, pref=entry.get("pref"),
            flags=tuple(entry.get("flags", ())), kind=entry.get("type", "unicast"),
            metrics=tuple((name, value) for group in entry.get("metrics", ()) for name, value in group.items())))
    return tuple(routes)


@dataclass(frozen=True)
class Finding:
    code: str  # no-address | ula-only | no-usable-address | no-default-route | several-ra-routes |
    #            expiring | expired | gateway-silent | ok
    severity: str  # OK | WARN | FAIL
    message: str
    fixable: bool = False  # the route fix (one static default, accept_ra_defrtr=0) addresses it


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    usable: tuple[Address, ...] = ()
    unusable: tuple[Address, ...] = ()
    defaults: tuple[Route, ...] = ()
    facts: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        return max((f.severity for f in self.findings), key=SEVERITY_ORDER.index, default=OK)

    @property
    def summary(self) -> str:
        worst = [f for f in self.findings if f.severity == self.status]
        return worst[0].message if worst else "IPv6 looks healthy"

    @property
    def fixable(self) -> bool:
        return any(f.fixable for f in self.findings)

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def only_interface(items, interface: str | None):
    return tuple(i for i in items if interface is None or i.interface == interface)


def diagnose(addresses, routes, *, expiry_warning: int, interface: str | None = None,
             gateway_answers: dict | None = None) -> Diagnosis:
    """Given addresses, routes and which gateways answered a ping ({(gateway, dev): bool|None}),
    return every finding, worst first in the summary.

    Route findings that the route fix can cure are marked fixable: several RA defaults,
    RA defaults close to expiry or expired, a silent gateway while another one answers.
    """
    addresses = only_interface(addresses, interface)
    routes = only_interface(routes, interface)
    answers = gateway_answers or {}
    findings: list[Finding] = []

    global_scope = [a for a in addresses if a.scope == "global"]
    usable = tuple(a for a in global_scope if a.unusable_reason() is None)
    unusable = tuple(a for a in global_scope if a.unusable_reason() is not None)
    where = f" on {interface}" if interface else ""
    if not global_scope:
        findings.append(Finding("no-address", FAIL, f"no global IPv6 address{where}"))
    elif not usable and all(a.is_ula for a in global_scope):
        listed = ", ".join(a.address for a in global_scope)
        findings.append(Finding("ula-only", FAIL, f"only unique-local addresses ({listed}): no route to the Internet"))
    elif not usable:
        listed = "; ".join(a.describe() for a in unusable)
        findings.append(Finding("no-usable-address", FAIL, f"no usable global IPv6 address: {listed}"))

    defaults = tuple(r for r in routes if r.is_default)
    ra_defaults = [r for r in defaults if r.from_ra]
    live = [r for r in defaults if not r.expired]
    some_gateway_answers = any(answers.get((r.gateway, r.interface)) for r in live if r.gateway)
    if not defaults:
        findings.append(Finding("no-default-route", FAIL, f"no IPv6 default route{where}"))
    if len(ra_defaults) > 1:
        gateways = ", ".join(f"{r.gateway} dev {r.interface}" for r in ra_defaults)
        findings.append(Finding(
            "several-ra-routes", WARN,
            f"{len(ra_defaults)} default routes from router advertisements ({gateways}): when one router "
            "stops advertising, traffic may fail until its route expires", fixable=True))
    for route in ra_defaults:
        if route.expired:
            severity = FAIL if not [r for r in live if r is not route] else WARN
            findings.append(Finding(
                "expired", severity,
                f"default route via {route.gateway} dev {route.interface} expired {-route.expires} s ago "
                "(negative expires): its router stopped advertising; until the kernel drops it, traffic "
                "may fail with \"Network is unreachable\"", fixable=True))
        elif route.expires is not None and route.expires < expiry_warning:
            findings.append(Finding(
                "expiring", WARN,
                f"default route via {route.gateway} dev {route.interface} expires in {route.expires} s "
                f"(warning below {expiry_warning} s): its router may have stopped advertising", fixable=True))
    silent = [r for r in live if r.gateway and answers.get((r.gateway, r.interface)) is False]
    for route in silent:
        findings.append(Finding(
            "gateway-silent", WARN if some_gateway_answers else FAIL,
            f"gateway {route.gateway} dev {route.interface} does not answer ping", fixable=some_gateway_answers))
    if not findings:
        first = usable[0] if usable else None
        best = min(live, key=lambda r: (r.metric or 0)) if live else None
        findings.append(Finding("ok", OK, "global address " + (first.address if first else "?") +
                                (f", {best.describe()}" if best else "")))

    facts = tuple([f"address {a.describe()}" for a in usable + unusable] +
                  [f"route {r.describe()}" for r in defaults])
    return Diagnosis(tuple(findings), usable, unusable, defaults, facts)


def native_ipv6(addresses, routes, *, exclude_interfaces=()) -> tuple[bool, str]:
    """Does IPv6 work without the tunnel? A usable global address and a live default route
    on interfaces other than `exclude_interfaces` (the tunnels). Returns (works, why)."""
    excluded = set(exclude_interfaces)
    usable = [a for a in addresses if a.interface not in excluded and a.unusable_reason() is None]
    live = [r for r in routes if r.is_default and r.interface not in excluded and not r.expired
            and "linkdown" not in r.flags]
    if not usable:
        return False, "no usable global IPv6 address outside the tunnel"
    if not live:
        return False, "no live IPv6 default route outside the tunnel"
    return True, f"native IPv6: {usable[0].address} on {usable[0].interface}, {live[0].describe()}"
