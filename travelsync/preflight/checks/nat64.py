"""The preflight `nat64` check: on an IPv6-only network, which NAT64 prefixes, and do they work?

Discovery as `nat64 discover` does it, with config preflight.nat64 (nameserver, domain,
timeout, check_server, trusted_domains). The connectivity check runs when there is no
native IPv4 (or a check server is configured). Where there is no DNS64, it says so.
"""

from travelsync.preflight.model import FAIL, OK, SKIP, WARN, CheckResult

NAME = "nat64"


def has_native_ipv4(probe: str = "192.0.2.1") -> bool:
    """Is there an IPv4 route out? A UDP connect() picks a route and sends nothing."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((probe, 9))
        except OSError:
            return False
        return not sock.getsockname()[0].startswith("127.")


def settings_from(config):
    from travelsync.nat64 import Settings
    from travelsync.config.model import Nat64Check

    configured = getattr(getattr(config, "preflight", None), "nat64", None) or Nat64Check()
    return Settings(nameserver=configured.nameserver, domain=configured.domain, timeout=configured.timeout,
                    check_server=configured.check_server, trusted_domains=tuple(configured.trusted_domains))


def run(config, context=None) -> CheckResult:
    """Discover, check when IPv4 is missing, and grade: ok, warn, fail or skip.

    `context` (a CheckContext, or None) gives the time left and the runner for ping.
    """
    from travelsync import nat64 as service
    from travelsync.errors import TravelsyncError
    from travelsync.nat64 import discovery

    from dataclasses import replace

    settings = settings_from(config)
    if context is not None:  # leave room for the connectivity check (5 s) within the runner's limit
        settings = replace(settings, timeout=max(0.5, min(settings.timeout, (context.remaining() - 6) / 2)))
    runner = getattr(context, "runner", None)
    native_ipv4 = has_native_ipv4()
    ipv4_line = "native IPv4: yes" if native_ipv4 else "native IPv4: no (IPv6-only network)"
    try:
        found = service.discover(settings)
    except TravelsyncError as error:
        return CheckResult(NAME, WARN, f"NAT64 discovery impossible: {error.message}", (ipv4_line,))
    data = found.as_json()
    data["native_ipv4"] = native_ipv4
    details = ([ipv4_line, f"resolver: {found.server}"] + list(found.notes)
               + [f"{prefix} left out: {reason}" for prefix, reason in found.rejected])
    if found.outcome == discovery.NO_ANSWER:
        return CheckResult(NAME, WARN, f"no DNS server answered the NAT64 discovery query ({settings.domain})",
                           tuple(details), data=data)
    if found.outcome == discovery.NON_STANDARD:
        return CheckResult(NAME, WARN, "DNS64 answers, but not in an RFC 6052 format: prefix unknown",
                           tuple(details + [f"AAAA: {', '.join(found.addresses)}"]), data=data)
    if found.outcome in (discovery.NOT_DNS64, discovery.NO_NAT64):
        what = ("the resolver is not a DNS64" if found.outcome == discovery.NOT_DNS64
                else "no DNS64/NAT64 on this network")
        if native_ipv4:
            return CheckResult(NAME, SKIP, f"{what}; not needed: native IPv4 works", tuple(details), data=data)
        return CheckResult(NAME, FAIL, f"{what}, and there is no native IPv4: IPv4-only servers are unreachable "
                                       "by name", tuple(details), data=data)
    check = not native_ipv4 or bool(settings.check_server)
    report = service.examine(found, settings, check=check, run=runner)
    data = {**report.as_json(), "native_ipv4": native_ipv4}
    for prefix in found.prefixes:
        checked = report.connectivity_of(prefix)
        state = f"connectivity check {checked.status}: {checked.reason}" if checked else "not checked"
        details.append(f"Prefix: {prefix}: {state}")
    listed = ", ".join(str(p) for p in found.prefixes)
    if report.rejected and not report.usable:
        return CheckResult(NAME, FAIL, f"NAT64 prefix {listed} found, but the connectivity check failed",
                           tuple(details), data=data)
    if report.rejected:
        return CheckResult(NAME, WARN, f"NAT64 prefixes {listed}: some fail the connectivity check",
                           tuple(details), data=data)
    if check and all(c.status == "unknown" for c in report.connectivity):
        return CheckResult(NAME, WARN if not native_ipv4 else OK,
                           f"NAT64 prefix {listed} found; not checked (no check server known)",
                           tuple(details), data=data)
    works = "works" if check else "found (native IPv4 also present)"
    return CheckResult(NAME, OK, f"NAT64 prefix {listed} {works}", tuple(details), data=data)
