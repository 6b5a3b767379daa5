"""mail: can the laptop reach its mail servers securely, over IPv6 and over IPv4?

Servers: preflight.mail.servers, else those in the mailer entries' files
(travelsync.mail.servers). Each name is resolved per family with the system's resolver
(getaddrinfo: what the mail clients use, /etc/hosts included); on an IPv6-only network a
name with only A records is reached through NAT64, its addresses synthesized with the
discovered prefix (travelsync.nat64). Every address gets a TCP connect and a TLS handshake
with certificate and host-name validation (mailserver.py), all at once; with a tunnel
configured, each IPv6 address's route says whether the path goes through the tunnel (a
detail, not a warning: the tunnel is the fallback for a network without native IPv6).
"""

import json
import socket
import threading
from ipaddress import IPv4Address, IPv6Network

from travelsync.preflight import mailserver
from travelsync.preflight.model import FAIL, OK, SKIP, WARN, CheckResult

NAME = "mail"
FAMILIES = (("ipv6", socket.AF_INET6), ("ipv4", socket.AF_INET))
NO_PATH = "no-path"  # only IPv4 addresses, no IPv4 and no NAT64 here
NO_RECORD = {getattr(socket, name) for name in ("EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name)}


def resolve(host: str, family: int, timeout: float) -> tuple[list[str], str | None]:
    """(addresses, None) or ([], why not) within `timeout` s (the lookup runs in a daemon thread)."""
    outcome: dict = {}

    def ask():
        try:
            infos = socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
            outcome["addresses"] = list(dict.fromkeys(info[4][0] for info in infos))
        except socket.gaierror as error:
            if error.errno not in NO_RECORD:  # "no record of this family" is an answer, not a failure
                outcome["error"] = error.strerror or str(error)
        except OSError as error:
            outcome["error"] = error.strerror or str(error)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return [], f"no answer from the resolver within {timeout:g} s"
    return outcome.get("addresses", []), outcome.get("error")


def resolve_all(targets, timeout: float) -> dict:
    """target → {family: (addresses, error)}, every name and family asked at once."""
    found: dict = {item: {} for item in targets}

    def ask(item, family, number):
        found[item][family] = resolve(item.host, number, timeout)

    threads = [threading.Thread(target=ask, args=(item, family, number), daemon=True)
               for item in targets for family, number in FAMILIES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 0.5)
    silent = ([], f"no answer from the resolver within {timeout:g} s")
    return {item: {family: by_family.get(family, silent) for family, _ in FAMILIES} for item, by_family in found.items()}


def nat64_prefixes(config, timeout: float) -> tuple[list[IPv6Network], str]:
    """The NAT64 prefixes discovered as the nat64 check does (preflight.nat64), and a note."""
    from dataclasses import replace

    from travelsync import nat64 as service
    from travelsync.errors import TravelsyncError
    from travelsync.preflight.checks.nat64 import settings_from

    try:
        found = service.discover(replace(settings_from(config), timeout=timeout))
    except TravelsyncError as error:
        return [], f"NAT64 discovery impossible: {error.message}"
    if not found.prefixes:
        return [], f"no NAT64 prefix ({found.summary})"
    return list(found.prefixes), f"NAT64 prefix {', '.join(map(str, found.prefixes))} ({found.source})"


def tunnel_interface(config) -> str | None:
    from travelsync.preflight import tunnels

    settings = config.preflight.tunnel
    if settings.kind is None and settings.interface is None:
        return None
    return settings.interface or tunnels.KINDS[settings.kind or "tun"].interface


def route_of(address: str, tunnel: str, runner) -> dict:
    """Which interface the kernel would send `address` through (`ip -j -6 route get`)."""
    try:
        done = runner(["ip", "-j", "-6", "route", "get", address], timeout=2)
        routes = json.loads(done.stdout or b"[]") if done.ok else []
    except Exception as error:  # ip missing or silent: the route is unknown, not a failure
        return {"dev": None, "through_tunnel": None, "error": str(error)}
    dev = routes[0].get("dev") if routes else None
    return {"dev": dev, "through_tunnel": dev == tunnel} if dev else {
        "dev": None, "through_tunnel": False, "error": done.error_line() or "no route"}


def servers(config, home, environ) -> tuple[list[mailserver.Target], list[str]]:
    """The targets to check and notes (files that could not be read)."""
    configured = config.preflight.mail.servers
    if configured:
        return [mailserver.target(text) for text in configured], []
    from travelsync.mail.servers import from_mailers

    return from_mailers(config.mailer, home, environ)


def plan(targets, resolved: dict, native_ipv4: bool, prefixes) -> list[tuple]:
    """(target, family, address, NAT64 prefix or None) for every address to try (pure): each
    resolved address, except IPv4 without native IPv4; a name with only A records on an
    IPv6-only network gets its addresses synthesized into each NAT64 prefix (RFC 6052)."""
    from travelsync.nat64 import rfc6052

    plans = []
    for item in targets:
        found = resolved[item]
        if needs_nat64(found, native_ipv4):
            plans += [(item, "ipv6", str(rfc6052.embed(prefix, IPv4Address(v4))), str(prefix))
                      for prefix in prefixes for v4 in found["ipv4"][0]]
        for family, _ in FAMILIES:
            if family == "ipv6" or native_ipv4:
                plans += [(item, family, address, None) for address in found[family][0]]
    return plans


def needs_nat64(found: dict, native_ipv4: bool) -> bool:
    return not found["ipv6"][0] and bool(found["ipv4"][0]) and not native_ipv4


def attempt_all(plans, context_tls, timeout: float, tunnel: str | None, context) -> list:
    """Every planned address tried at once; an Attempt per plan (a late one: 'no outcome in time')."""
    attempts: dict = {}

    def attempt(item, family, address, prefix):
        number = socket.AF_INET6 if family == "ipv6" else socket.AF_INET
        finding, message, version = mailserver.handshake(item, number, address, context_tls,
                                                         min(timeout, context.remaining()))
        route = route_of(address, tunnel, context.runner) if family == "ipv6" and tunnel else None
        attempts[(item, family, address, prefix)] = mailserver.Attempt(family, address, finding, message, version,
                                                                      prefix, route)

    threads = [threading.Thread(target=attempt, args=one, daemon=True) for one in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.1, context.remaining() - 0.2))
    return [attempts.get(one) or mailserver.Attempt(one[1], one[2], mailserver.TIMEOUT, "no outcome in time",
                                                   nat64_prefix=one[3]) for one in plans]


def run(config, context) -> CheckResult:
    from pathlib import Path

    from travelsync.preflight.checks.nat64 import has_native_ipv4

    settings = config.preflight.mail
    targets, notes = servers(config, Path(context.environ.get("HOME") or Path.home()), context.environ)
    if not targets:
        return CheckResult(NAME, SKIP, "no mail server configured (preflight.mail.servers) or found in the mail "
                                       "clients' files", tuple(notes))
    timeout = float(settings.timeout)
    try:
        context_tls = mailserver.tls_context(settings.ca_file)
    except (OSError, ValueError) as error:
        return CheckResult(NAME, FAIL, f"preflight.mail.ca_file {settings.ca_file}: cannot be read ({error})")
    native_ipv4 = has_native_ipv4()
    tunnel = tunnel_interface(config)
    details = list(notes)
    resolved = resolve_all(targets, min(timeout, context.remaining()))
    prefixes = []
    if any(needs_nat64(resolved[item], native_ipv4) for item in targets):
        prefixes, note = nat64_prefixes(config, min(3.0, context.remaining() / 3))
        details.append(f"IPv6-only network: {note}")
    plans = plan(targets, resolved, native_ipv4, prefixes)
    attempts = attempt_all(plans, context_tls, timeout, tunnel, context)
    reports = [report(item, resolved[item], [a for one, a in zip(plans, attempts) if one[0] == item],
                      native_ipv4, tunnel) for item in targets]
    order = {OK: 0, WARN: 1, FAIL: 2}
    worst = max(reports, key=lambda r: order[r["status"]])
    status = worst["status"]
    summary = worst["summary"] if len(reports) == 1 or status != OK else \
        f"{len(reports)} mail servers reached over TLS with valid certificates"
    for entry in reports:
        details += entry.pop("lines")
    findings = sorted({a["finding"] for r in reports for f in r["families"].values() for a in f["addresses"]}
                      | {r["finding"] for r in reports if r.get("finding")})
    return CheckResult(NAME, status, summary, tuple(details), data={"servers": reports, "findings": findings})


def report(item: mailserver.Target, found: dict, attempts: list, native_ipv4: bool, tunnel: str | None) -> dict:
    """One server's entry: per family its addresses and what worked; status, summary, lines (pure)."""
    families, lines = {}, []
    for family, _ in FAMILIES:
        tried = [a for a in attempts if a.family == family]
        addresses, error = found[family]
        entry = {"resolved": addresses, "addresses": [a.as_json() for a in tried], "ok": any(a.ok for a in tried)}
        if family == "ipv4" and not native_ipv4 and addresses:
            entry["note"] = "not tried: no native IPv4 on this network"
        elif not tried:
            entry["note"] = f"not resolved ({error})" if error else f"no {'AAAA' if family == 'ipv6' else 'A'} record"
        families[family] = entry
        label = "IPv6" if family == "ipv6" else "IPv4"
        for a in tried:
            via = f" via NAT64 {a.nat64_prefix}" if a.nat64_prefix else ""
            path = ""
            if a.route is not None:
                dev = a.route.get("dev")
                path = (f"; through the tunnel {tunnel}" if a.route.get("through_tunnel")
                        else f"; NOT through the tunnel {tunnel} ({f'route via {dev}' if dev else 'no route'})")
            lines.append(f"{item.text} {label} {a.address}{via}: {'ok, ' if a.ok else ''}{a.message}{path}")
        if "note" in entry:
            lines.append(f"{item.text} {label}: {entry['note']}")
    working = [label for label, key in (("IPv6", "ipv6"), ("IPv4", "ipv4")) if families[key]["ok"]]
    failed = [a for a in attempts if not a.ok]
    data = {"server": item.text, "protocol": item.protocol, "tls": "starttls" if item.starttls else "implicit",
            "families": families}
    if not attempts and found["ipv4"][0] and not native_ipv4:
        data.update(status=FAIL, finding=NO_PATH, summary=f"{item.text} has only IPv4 addresses, and this network has "
                                                          "neither IPv4 nor a NAT64 prefix to reach them")
    elif not attempts:
        why = found["ipv6"][1] or found["ipv4"][1] or "no address"
        data.update(status=FAIL, finding=mailserver.NO_ADDRESS, summary=f"{item.text}: name not resolved ({why})")
    elif not failed:
        data.update(status=OK, summary=f"{item.text} reached over {' and '.join(working)}, TLS with a valid certificate")
    elif working:
        first = failed[0]
        data.update(status=WARN, summary=f"{item.text} works over {' and '.join(working)} only: "
                                         f"{'IPv6' if first.family == 'ipv6' else 'IPv4'} {first.address}: {first.message}")
    else:
        first = failed[0]
        data.update(status=FAIL, summary=f"{item.text} not reachable securely: {first.address}: {first.message}")
    data["lines"] = lines
    return data
