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
    NON_STANDARD: "heuristic failed: non-standard format (AAAA records hold no well-known address "
                  "at an RFC 6052 position)",
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

    @property
    def summary(self) -> str:
        return SUMMARIES[self.outcome]

    def as_json(self) -> dict:
        return {"outcome": self.outcome, "prefixes": [str(p) for p in self.prefixes], "ttl": self.ttl,
                "source": self.source, "server": self.server, "addresses": list(self.addresses),
                "notes": list(self.notes)}


def prefixes_from_addresses(addresses) -> tuple[tuple[IPv6Network, ...], tuple[str, ...]]:
    """Every distinct prefix found in `addresses`, first-seen order; plus notes on oddities."""
    prefixes: list[IPv6Network] = []
    notes: list[str] = []
    for text in addresses:
        address = IPv6Address(text)
        located = rfc6052.locate_well_known(address)
        if located is None:
            notes.append(f"{address}: no well-known IPv4 address at an RFC 6052 position (ignored)")
            continue
        network, embedded = located
        if rfc6052.occurrences(address, embedded) > 1:
            notes.append(f"{address}: the bits of {embedded} occur more than once; "
                         f"the longest position wins ({network})")
        if network not in prefixes:
            prefixes.append(network)
    return tuple(prefixes), tuple(notes)


def decide(aaaa: Answer, a: Answer | None = None) -> Discovery:
    """The outcome of discovery from the AAAA answer (and the A answer when AAAA was empty)."""
    server = aaaa.server
    if aaaa.status in NO_REPLY:
        return Discovery(NO_ANSWER, server=server, notes=(f"last result: {aaaa.status}",))
    if aaaa.status == ANSWER and aaaa.records:
        prefixes, notes = prefixes_from_addresses(aaaa.records)
        outcome = FOUND if prefixes else NON_STANDARD
        return Discovery(outcome, prefixes, aaaa.ttl, server, addresses=tuple(aaaa.records), notes=notes)
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
