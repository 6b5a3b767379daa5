"""RFC 7050 §3 (updated by RFC 8880): from the DNS answers about ipv4only.arpa to an outcome.

Pure: the resolver module asks the questions and hands the answers here as `Answer`s.
"""

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from travelsync.nat64 import rfc6052

FOUND = "found"
NON_STANDARD = "non-standard"
NOT_DNS64 = "not-dns64"
NO_NAT64 = "no-nat64"
NO_ANSWER = "no-answer"
OUTCOMES = (FOUND, NON_STANDARD, NOT_DNS64, NO_NAT64, NO_ANSWER)

# how a query ended (Answer.status)
ANSWER, NODATA, NXDOMAIN, SERVFAIL, TIMEOUT, REFUSED = "answer", "nodata", "nxdomain", "servfail", "timeout", "refused"
NO_REPLY = (SERVFAIL, TIMEOUT, REFUSED)

SUMMARIES = {
    FOUND: "NAT64 prefix found",
    NON_STANDARD: "heuristic failed: non-standard format (no AAAA record holds a well-known address "
                  "once, at an RFC 6052 position, under a valid prefix)",
    NOT_DNS64: "resolver is not a DNS64 (no AAAA, but the A records are the well-known addresses)",
    NO_NAT64: "no NAT64 on this network (NXDOMAIN, or no AAAA and no well-known A record)",
    NO_ANSWER: "no answer from any DNS server (timeout, SERVFAIL or refused)",
}


@dataclass(frozen=True)
class Answer:
    """One DNS question's result, as the resolver saw it."""

    status: str  # ANSWER | NODATA | NXDOMAIN | SERVFAIL | TIMEOUT | REFUSED
    records: tuple = ()  # rdata as text, in the order received (AAAA, A, PTR targets)
    ttl: int | None = None  # the RRset's TTL, or the negative TTL (SOA) for NODATA/NXDOMAIN
    server: str | None = None  # who answered (or who was asked last)
    authenticated: bool = False  # the AD bit was set (the resolver says it validated)


@dataclass(frozen=True)
class Discovery:
    outcome: str
    prefixes: tuple[IPv6Network, ...] = ()
    ttl: int | None = None
    server: str | None = None
    source: str = "dns"  # "dns" | "ra" (RFC 8781 PREF64)
    addresses: tuple[str, ...] = ()  # the AAAA records examined
    notes: tuple[str, ...] = field(default=())
    rejected: tuple[tuple[IPv6Network, str], ...] = ()  # prefixes the answer used that RFC 6052 forbids

    @property
    def summary(self) -> str:
        return SUMMARIES[self.outcome]

    def as_json(self) -> dict:
        return {"outcome": self.outcome, "prefixes": [str(p) for p in self.prefixes], "ttl": self.ttl,
                "source": self.source, "server": self.server, "addresses": list(self.addresses),
                "notes": list(self.notes),
                "rejected": [{"prefix": str(prefix), "reason": reason} for prefix, reason in self.rejected]}


@dataclass(frozen=True)
class Examined:
    prefixes: tuple[IPv6Network, ...] = ()
    rejected: tuple[tuple[IPv6Network, str], ...] = ()
    notes: tuple[str, ...] = ()


def prefixes_from_addresses(addresses) -> Examined:
    """RFC 7050 §3 on every AAAA record: the distinct prefixes in first-seen order, the prefixes
    RFC 6052 forbids (with why), and notes on records that were not used.

    192.0.0.170 is searched first. If it occurs more than once on octet boundaries in any
    record (a prefix or host bits that hold its bits), the search is repeated with
    192.0.0.171; if that is ambiguous too, the heuristic fails. Records holding only the
    other address are the same prefixes' partners and are not read twice.
    """
    addresses = [IPv6Address(text) for text in addresses]
    notes = [f"{a}: no well-known IPv4 address at an RFC 6052 position (ignored)" for a in addresses
             if not any(rfc6052.places(a, w) for w in rfc6052.WELL_KNOWN_IPV4)]
    ambiguous_seen = False
    for wka, other in (rfc6052.WELL_KNOWN_IPV4, tuple(reversed(rfc6052.WELL_KNOWN_IPV4))):
        holding = [a for a in addresses if rfc6052.places(a, wka)]
        ambiguous = [a for a in holding if len(rfc6052.places(a, wka)) > 1]
        for address in ambiguous:
            ambiguous_seen = True
            try:
                rfc6052.prefix_embedding(address, wka)
            except rfc6052.Ambiguous as error:
                notes.append(f"{error}: searching with {other} instead (RFC 7050 §3)")
        if holding and not ambiguous:
            return _prefixes_holding(addresses, holding, wka, notes)
    if ambiguous_seen:
        notes.append("no well-known address occurs only once: heuristic failed (RFC 7050 §3)")
    return Examined(notes=tuple(notes))


def _prefixes_holding(addresses, holding, wka, notes) -> Examined:
    """The prefixes of the records that hold `wka` once; InvalidPrefix → rejected, others noted."""
    prefixes: list[IPv6Network] = []
    rejected: list[tuple[IPv6Network, str]] = []
    for address in holding:
        try:
            network = rfc6052.prefix_embedding(address, wka)
        except rfc6052.InvalidPrefix as error:
            if error.network not in [prefix for prefix, _ in rejected]:
                rejected.append((error.network, error.reason))
            continue
        except rfc6052.NotEmbedded as error:
            notes.append(f"{error} (ignored)")
            continue
        if network not in prefixes:
            prefixes.append(network)
    return Examined(tuple(_first_seen(prefixes, addresses)), tuple(rejected), tuple(notes))


def _first_seen(prefixes, addresses) -> list[IPv6Network]:
    """`prefixes` in the order their first record arrived (a record belongs to the longest
    prefix holding it): the 192.0.0.171 record of a prefix may come before any 192.0.0.170."""
    def arrival(prefix):
        for index, address in enumerate(addresses):
            owners = [p for p in prefixes if address in p]
            if owners and max(owners, key=lambda p: p.prefixlen) == prefix:
                return index
        return len(addresses)

    return sorted(prefixes, key=arrival)


def decide(aaaa: Answer, a: Answer | None = None) -> Discovery:
    """The outcome of discovery from the AAAA answer (and the A answer when AAAA was empty)."""
    server = aaaa.server
    if aaaa.status in NO_REPLY:
        return Discovery(NO_ANSWER, server=server, notes=(f"last result: {aaaa.status}",))
    if aaaa.status == ANSWER and aaaa.records:
        examined = prefixes_from_addresses(aaaa.records)
        outcome = FOUND if examined.prefixes else NON_STANDARD
        return Discovery(outcome, examined.prefixes, aaaa.ttl, server, addresses=tuple(aaaa.records),
                         notes=examined.notes, rejected=examined.rejected)
    # NODATA or NXDOMAIN: a DNS64 would have synthesized; is it a plain resolver?
    if a is not None and a.status == ANSWER and any(_is_well_known(r) for r in a.records):
        return Discovery(NOT_DNS64, ttl=aaaa.ttl, server=server,
                         notes=(f"A records: {', '.join(a.records)}",))
    return Discovery(NO_NAT64, ttl=aaaa.ttl, server=server, notes=(f"AAAA: {aaaa.status}",))


def from_pref64(prefixes, lifetime: int | None, interface: str) -> Discovery:
    """A discovery result from RFC 8781 router advertisements (preferred over DNS, RFC 9872)."""
    prefixes = tuple(dict.fromkeys(prefixes))
    if not prefixes:
        return Discovery(NO_NAT64, source="ra", server=interface,
                         notes=(f"no PREF64 option in router advertisements on {interface}",))
    return Discovery(FOUND, prefixes, lifetime, interface, source="ra")


def _is_well_known(text: str) -> bool:
    try:
        return IPv4Address(text) in rfc6052.WELL_KNOWN_IPV4
    except ValueError:
        return False


def exit_code_for(outcome: str) -> int:
    """0 when a prefix is found, 75 when no server answered, 1 otherwise."""
    return {FOUND: 0, NO_ANSWER: 75}.get(outcome, 1)
