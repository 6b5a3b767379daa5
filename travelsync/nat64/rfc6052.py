"""RFC 6052 IPv4-embedded IPv6 addresses: embed, extract, find the well-known address.

Pure arithmetic on bytes, no I/O. Byte 8 of the address is the "u" octet (bits 64-71):
always zero; the IPv4 bytes skip it (RFC 6052 §2.2).
"""

import ipaddress
from ipaddress import IPv4Address, IPv6Address, IPv6Network

# prefix length -> the address bytes that hold the IPv4 address, in order (RFC 6052 §2.2)
POSITIONS = {
    32: (4, 5, 6, 7),
    40: (5, 6, 7, 9),
    48: (6, 7, 9, 10),
    56: (7, 9, 10, 11),
    64: (9, 10, 11, 12),
    96: (12, 13, 14, 15),
}
LENGTHS = tuple(sorted(POSITIONS))
LENGTH_AT = {positions: length for length, positions in POSITIONS.items()}
# RFC 7050 §3 counts the 32 bits on every octet boundary: the positions above (which skip the
# u octet) and every run of four consecutive bytes
PLACES = tuple(dict.fromkeys(list(POSITIONS.values()) + [tuple(range(start, start + 4)) for start in range(13)]))
U_OCTET = 8
WELL_KNOWN_PREFIX = IPv6Network("64:ff9b::/96")
# RFC 7050 §2.2: the A records of ipv4only.arpa
WELL_KNOWN_IPV4 = (IPv4Address("192.0.0.170"), IPv4Address("192.0.0.171"))


class InvalidPrefix(ValueError):
    """Not a usable NAT64 prefix: wrong length, host bits set, or a non-zero "u" octet."""

    def __init__(self, network, reason: str):
        super().__init__(f"{network}: {reason}")
        self.network, self.reason = network, reason


class NotEmbedded(ValueError):
    """The IPv6 address is not an IPv4-embedded address under the given prefix."""


class Ambiguous(NotEmbedded):
    """The IPv4 address occurs more than once on octet boundaries (RFC 7050 §3)."""


class NonGlobalWithWellKnownPrefix(ValueError):
    """RFC 6052 §3.1: 64:ff9b::/96 must not represent non-global IPv4 addresses."""


def parse_prefix(text: str) -> IPv6Network:
    """Given "2001:db8:122::/48", return the network; raise InvalidPrefix with the reason."""
    try:
        network = IPv6Network(text.strip(), strict=True)
    except ValueError as error:
        raise InvalidPrefix(repr(text), f"not an IPv6 prefix: {error}") from None
    validate_prefix(network)
    return network


def validate_prefix(network: IPv6Network) -> IPv6Network:
    """Return `network` if RFC 6052 allows it as a NAT64 prefix, else raise InvalidPrefix."""
    if network.prefixlen not in POSITIONS:
        raise InvalidPrefix(network, "RFC 6052 allows only /32, /40, /48, /56, /64 and /96")
    if network.network_address.packed[U_OCTET] != 0:
        raise InvalidPrefix(network, 'bits 64-71 (the "u" octet) must be zero (RFC 6052 §2.2)')
    return network


def embed(network: IPv6Network, ipv4: IPv4Address) -> IPv6Address:
    """The IPv4-embedded IPv6 address of `ipv4` under `network` (suffix and u octet zero)."""
    validate_prefix(network)
    packed = bytearray(network.network_address.packed)
    for index, byte in zip(POSITIONS[network.prefixlen], IPv4Address(ipv4).packed):
        packed[index] = byte
    return IPv6Address(bytes(packed))


def extract(address: IPv6Address, network: IPv6Network) -> IPv4Address:
    """The IPv4 address embedded in `address` under `network`; raise NotEmbedded if none is.

    The suffix is ignored, as translators must (RFC 6052 §2.2); the u octet must be zero.
    """
    validate_prefix(network)
    address = IPv6Address(address)
    if address not in network:
        raise NotEmbedded(f"{address} is not inside {network}")
    packed = address.packed
    if network.prefixlen < 96 and packed[U_OCTET] != 0:
        raise NotEmbedded(f"{address}: the \"u\" octet (bits 64-71) is not zero")
    return IPv4Address(bytes(packed[i] for i in POSITIONS[network.prefixlen]))


def well_known_rule(network: IPv6Network, ipv4: IPv4Address) -> None:
    """RFC 6052 §3.1: raise NonGlobalWithWellKnownPrefix if `network` is 64:ff9b::/96 and `ipv4`
    is not global. The one wording for `synthesize` (refused) and `check` (not synthetic)."""
    if network == WELL_KNOWN_PREFIX and not ipv4.is_global:
        raise NonGlobalWithWellKnownPrefix(
            f"{ipv4} is not a global IPv4 address: the well-known prefix {WELL_KNOWN_PREFIX} "
            "must not represent it (RFC 6052 §3.1)")


def synthesize(network: IPv6Network, ipv4: IPv4Address) -> IPv6Address:
    """`embed`, refusing what RFC 6052 §3.1 forbids for the well-known prefix."""
    ipv4 = IPv4Address(ipv4)
    well_known_rule(network, ipv4)
    return embed(network, ipv4)


def synthetic_ipv4(address: IPv6Address, network: IPv6Network) -> IPv4Address:
    """`extract`, refusing what RFC 6052 §3.1 forbids: no NAT64 makes or translates such an address."""
    ipv4 = extract(address, network)
    well_known_rule(network, ipv4)
    return ipv4


def places(address: IPv6Address, ipv4: IPv4Address) -> tuple[tuple[int, ...], ...]:
    """Every place on octet boundaries where the 32 bits of `ipv4` sit in `address` (as byte
    indexes): RFC 7050 §3 wants them present only once."""
    packed = IPv6Address(address).packed
    wanted = IPv4Address(ipv4).packed
    return tuple(place for place in PLACES if bytes(packed[i] for i in place) == wanted)


def prefix_embedding(address: IPv6Address, ipv4: IPv4Address) -> IPv6Network:
    """The prefix under which `address` embeds the well-known `ipv4` (RFC 7050 §3, one record).

    The 32 bits must occur exactly once on octet boundaries (else Ambiguous: search with the
    other well-known address), at an RFC 6052 position, with the u octet zero (else
    NotEmbedded); the prefix must be valid (else InvalidPrefix: a /96 with a non-zero u
    octet, RFC 6052 §2.2). With one occurrence there is nothing to prefer: no "longest wins".
    """
    address, ipv4 = IPv6Address(address), IPv4Address(ipv4)
    found = places(address, ipv4)
    if not found:
        raise NotEmbedded(f"{address} does not hold {ipv4}")
    if len(found) > 1:
        at = " and ".join(_describe_place(place) for place in found)
        raise Ambiguous(f"{address}: {ipv4} occurs {len(found)} times on octet boundaries ({at})")
    length = LENGTH_AT.get(found[0])
    if length is None:
        raise NotEmbedded(f"{address}: {ipv4} is at {_describe_place(found[0])}, not at an RFC 6052 position")
    if length < 96 and address.packed[U_OCTET] != 0:
        raise NotEmbedded(f"{address}: {ipv4} at the /{length} position, but the \"u\" octet (bits 64-71) "
                          "is not zero (RFC 6052 §2.2)")
    network = IPv6Network((int(address) >> (128 - length) << (128 - length), length))
    return validate_prefix(network)


def _describe_place(place: tuple[int, ...]) -> str:
    length = LENGTH_AT.get(place)
    return f"the /{length} position" if length else f"bytes {place[0]}-{place[-1]}"


def reverse_pointer(address: IPv6Address) -> str:
    """The ip6.arpa name of `address` (for the PTR query of RFC 7050 §3.1.1)."""
    return ipaddress.ip_address(address).reverse_pointer + "."
