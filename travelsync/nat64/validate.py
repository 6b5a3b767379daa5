"""RFC 7050 §3.1.2: is a discovered prefix really the network's? (optional validation)

PTR of Pref64::WKA → the NAT64 FQDN; its domain must be trusted; the FQDN's AAAA records
must contain that Pref64::WKA. DNSSEC: travelsync does not validate itself; it reports the
resolver's AD bit as what it is. The well-known prefix 64:ff9b::/96 cannot be validated
(its reverse zone is not the operator's). `ask(name, rdtype, dnssec=False) -> Answer` is
passed in, so this module is pure logic.
"""

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from travelsync.nat64 import discovery, rfc6052

VALID, INVALID, UNTRUSTED, IMPOSSIBLE, UNKNOWN = "valid", "invalid", "untrusted", "impossible", "unknown"


@dataclass(frozen=True)
class Validation:
    prefix: IPv6Network
    status: str  # VALID | INVALID | UNTRUSTED | IMPOSSIBLE | UNKNOWN
    reason: str
    fqdn: str | None = None
    dnssec: str = "not checked"
    check_servers: tuple[str, ...] = ()  # A records of the NAT64 FQDN (RFC 7050 §3.2)

    def as_json(self) -> dict:
        return {"prefix": str(self.prefix), "status": self.status, "reason": self.reason, "fqdn": self.fqdn,
                "dnssec": self.dnssec, "check_servers": list(self.check_servers)}


def in_trusted_domain(fqdn: str, trusted_domains) -> bool:
    """Label-wise suffix match: nat64.example.net is in example.net, evilexample.net is not."""
    labels = fqdn.lower().rstrip(".").split(".")
    for domain in trusted_domains:
        wanted = domain.lower().strip(".").split(".")
        if wanted and len(labels) >= len(wanted) and labels[-len(wanted):] == wanted:
            return True
    return False


def nat64_fqdns(prefix: IPv6Network, ask) -> tuple[list[str], str | None]:
    """The NAT64 FQDNs named by the PTR records of Pref64::170 and Pref64::171."""
    names: list[str] = []
    problem = None
    for wka in rfc6052.WELL_KNOWN_IPV4:
        answer = ask(rfc6052.reverse_pointer(rfc6052.embed(prefix, wka)), "PTR")
        if answer.status == discovery.ANSWER:
            names.extend(n for n in answer.records if n not in names)
        elif problem is None:
            problem = f"PTR of {rfc6052.embed(prefix, wka)}: {answer.status}"
    return names, problem


def validate(prefix: IPv6Network, trusted_domains, ask) -> Validation:
    """Validate one prefix per RFC 7050 §3.1.2; never raises for DNS trouble."""
    if prefix == rfc6052.WELL_KNOWN_PREFIX:
        return Validation(prefix, IMPOSSIBLE, "the well-known prefix cannot be validated (RFC 7050 §3.1.2)")
    names, problem = nat64_fqdns(prefix, ask)
    if not names:
        return Validation(prefix, UNKNOWN, f"no NAT64 FQDN ({problem or 'no PTR record'})")
    expected = {rfc6052.embed(prefix, wka) for wka in rfc6052.WELL_KNOWN_IPV4}
    untrusted = []
    for fqdn in names:
        if not in_trusted_domain(fqdn, trusted_domains):
            untrusted.append(fqdn)
            continue
        aaaa = ask(fqdn, "AAAA", dnssec=True)
        addresses = {IPv6Address(a) for a in aaaa.records} if aaaa.status == discovery.ANSWER else set()
        dnssec = ("secure: the resolver set the AD bit (travelsync did not validate itself)"
                  if aaaa.authenticated else "not validated: the resolver did not set the AD bit")
        check_servers = ask(fqdn, "A").records
        if addresses & expected:
            return Validation(prefix, VALID, f"{fqdn} has AAAA {', '.join(sorted(map(str, addresses & expected)))}",
                              fqdn, dnssec, tuple(check_servers))
        return Validation(prefix, INVALID, f"{fqdn} has no AAAA record equal to Pref64::WKA ({aaaa.status})",
                          fqdn, dnssec, tuple(check_servers))
    if not trusted_domains:
        reason = f"NAT64 FQDN {', '.join(untrusted)}: no trusted domains configured (preflight.nat64.trusted_domains)"
    else:
        reason = f"NAT64 FQDN {', '.join(untrusted)} is not in a trusted domain ({', '.join(trusted_domains)})"
    return Validation(prefix, UNTRUSTED, reason, untrusted[0])
