"""DNS questions for NAT64 discovery, asked with dnspython (imported inside the functions).

RD=1, CD=0, never ANY (DNS64 servers answer ANY without synthesis, RFC 7050 §3), no DO bit
for ipv4only.arpa (RFC 8880: an insecure delegation, not to be validated). Every question
is retried on timeout or SERVFAIL within its time budget, server after server.
"""

import ipaddress
import time
from dataclasses import dataclass

from travelsync.errors import UsageError
from travelsync.nat64 import discovery
from travelsync.nat64.discovery import Answer

DEFAULT_RESOLV_CONF = "/etc/resolv.conf"
ATTEMPTS = 3


@dataclass(frozen=True)
class Nameserver:
    host: str  # an IP literal; IPv6 link-local with its zone id ("fe80::1%eth0")
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """Parse "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[::1]:5353", "fe80::1%eth0".

    Raise UsageError naming the bad value: travelsync does not resolve resolver names.
    """
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"nameserver {text!r}: expected [IPV6]:PORT")
        if rest:
            port = _port(text, rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(text, port_text)
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        raise UsageError(f"nameserver {text!r}: not an IP address (use IPV4[:PORT], IPV6 or [IPV6]:PORT)") from None
    if "%" in host and not host.split("%")[1]:
        raise UsageError(f"nameserver {text!r}: empty zone id after %")
    return Nameserver(host, port)


def _port(text: str, port_text: str) -> int:
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"nameserver {text!r}: port must be 1-65535")
    return int(port_text)


def system_nameservers(resolv_conf: str = DEFAULT_RESOLV_CONF) -> list[Nameserver]:
    """The resolvers of resolv.conf (link-local ones keep their zone id)."""
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(filename=resolv_conf)
    except (OSError, dns.resolver.NoResolverConfiguration) as error:
        raise UsageError(f"{resolv_conf}: no usable nameserver ({error}); give one with -n") from None
    return [Nameserver(str(server), resolver.port) for server in resolver.nameservers]


def ask(servers: list[Nameserver], name: str, rdtype: str, *, timeout: float = 3.0,
        dnssec: bool = False, attempts: int = ATTEMPTS) -> Answer:
    """Ask `name`/`rdtype` of each server in turn until one gives a real answer.

    `timeout` is the budget for the whole question at one server, retries included.
    """
    last = Answer(discovery.TIMEOUT, server=str(servers[0]) if servers else None)
    for server in servers:
        last = _ask_one(server, name, rdtype, timeout=timeout, dnssec=dnssec, attempts=attempts)
        if last.status not in discovery.NO_REPLY:
            return last
    return last


def _ask_one(server: Nameserver, name: str, rdtype: str, *, timeout: float, dnssec: bool, attempts: int) -> Answer:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode

    query = dns.message.make_query(name, rdtype, want_dnssec=dnssec)  # flags: RD only (CD=0)
    if dnssec:
        query.flags |= dns.flags.AD  # RFC 6840 §5.7: ask the resolver to report validation
    deadline = time.monotonic() + timeout
    status = discovery.TIMEOUT
    for attempt in range(attempts):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        per_try = remaining / (attempts - attempt)
        try:
            response = dns.query.udp(query, server.host, port=server.port, timeout=per_try, ignore_unexpected=True)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(query, server.host, port=server.port, timeout=max(per_try, 0.5))
        except dns.exception.Timeout:
            status = discovery.TIMEOUT
            continue
        except (OSError, dns.exception.DNSException):
            status = discovery.TIMEOUT  # refused connection, bad reply: as good as no answer
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
            continue
        rcode = response.rcode()
        if rcode == dns.rcode.SERVFAIL:
            status = discovery.SERVFAIL
            continue
        if rcode == dns.rcode.REFUSED:
            return Answer(discovery.REFUSED, server=str(server))
        return _to_answer(response, rdtype, str(server))
    return Answer(status, server=str(server))


def _to_answer(response, rdtype: str, server: str) -> Answer:
    import dns.flags
    import dns.rcode
    import dns.rdatatype

    authenticated = bool(response.flags & dns.flags.AD)
    wanted = dns.rdatatype.from_text(rdtype)
    rrsets = [rrset for rrset in response.answer if rrset.rdtype == wanted]
    if rrsets:
        records = tuple(_rdata_text(rdata) for rrset in rrsets for rdata in rrset)
        return Answer(discovery.ANSWER, records, min(r.ttl for r in rrsets), server, authenticated)
    negative_ttl = None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            negative_ttl = min(rrset.ttl, rrset[0].minimum)  # RFC 2308 §5
    status = discovery.NXDOMAIN if response.rcode() == dns.rcode.NXDOMAIN else discovery.NODATA
    return Answer(status, (), negative_ttl, server, authenticated)


def _rdata_text(rdata) -> str:
    address = getattr(rdata, "address", None)
    return address if address is not None else rdata.to_text()


def discover(servers: list[Nameserver], domain: str = "ipv4only.arpa", *, timeout: float = 3.0) -> discovery.Discovery:
    """RFC 7050 §3: AAAA of `domain`; when none, A of it to tell not-dns64 from no-nat64."""
    name = domain.rstrip(".") + "."
    aaaa = ask(servers, name, "AAAA", timeout=timeout)
    a = None
    if aaaa.status in (discovery.NODATA, discovery.NXDOMAIN):
        answered = [s for s in servers if str(s) == aaaa.server] or servers
        a = ask(answered, name, "A", timeout=timeout)
    return discovery.decide(aaaa, a)
