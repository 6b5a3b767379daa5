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
U_OCTET = 8
WELL_KNOWN_PREFIX = IPv6Network("64:ff9b::/96")
# RFC 7050 §2.2: the A records of ipv4only.arpa
WELL_KNOWN_IPV4 = (IPv4Address("192.0.0.170"), IPv4Address("192.0.0.171"))


class InvalidPrefix(ValueError):
    """Not a usable NAT64 prefix: wrong length, host bits set, or a non-zero "u" octet."""


class NotEmbedded(ValueError):
    """The IPv6 address is not an IPv4-embedded address under the given prefix."""


class NonGlobalWithWellKnownPrefix(ValueError):
    """RFC 6052 §3.1: 64:ff9b::/96 must not represent non-global IPv4 addresses."""


def parse_prefix(text: str) -> IPv6Network:
    """Given "2001:db8:122::/48", return the network; raise InvalidPrefix with the reason."""
    try:
        network = IPv6Network(text.strip(), strict=True)
    except ValueError as error:
        raise InvalidPrefix(f"{text!r} is not an IPv6 prefix: {error}") from None
    validate_prefix(network)
    return network


def validate_prefix(network: IPv6Network) -> IPv6Network:
    """Return `network` if RFC 6052 allows it as a NAT64 prefix, else raise InvalidPrefix."""
    if network.prefixlen not in POSITIONS:
        raise InvalidPrefix(f"{network}: RFC 6052 allows only /32, /40, /48, /56, /64 and /96")
    if network.network_address.packed[U_OCTET] != 0:
        raise InvalidPrefix(f"{network}: bits 64-71 (the \"u\" octet) must be zero (RFC 6052 §2.2)")
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


def synthesize(network: IPv6Network, ipv4: IPv4Address) -> IPv6Address:
    """`embed`, refusing what RFC 6052 §3.1 forbids for the well-known prefix."""
    ipv4 = IPv4Address(ipv4)
    if network == WELL_KNOWN_PREFIX and not ipv4.is_global:
        raise NonGlobalWithWellKnownPrefix(
            f"{ipv4} is not a global IPv4 address: the well-known prefix {WELL_KNOWN_PREFIX} "
            "must not represent it (RFC 6052 §3.1)")
    return embed(network, ipv4)


def locate_well_known(address: IPv6Address, well_known=WELL_KNOWN_IPV4) -> tuple[IPv6Network, IPv4Address] | None:
    """Find a well-known IPv4 address at a standard position; return (prefix, that address).

    Longest lengths are tried first. The embedded address starts with 0xc0 and everything
    after it (u octet, suffix) is zero, so no position right of the true one can match;
    a false match can only lie inside the prefix, at a shorter length. Trying /96 first
    therefore finds the true prefix even when the prefix itself holds 192.0.0.170's bits.
    """
    packed = IPv6Address(address).packed
    for length in sorted(POSITIONS, reverse=True):
        if length < 96 and packed[U_OCTET] != 0:
            continue
        embedded = IPv4Address(bytes(packed[i] for i in POSITIONS[length]))
        if embedded in well_known:
            network = IPv6Network((int.from_bytes(packed, "big") >> (128 - length) << (128 - length), length))
            return network, embedded
    return None


def occurrences(address: IPv6Address, ipv4: IPv4Address) -> int:
    """How often the 32 bits of `ipv4` appear at the standard positions (RFC 7050 §3 check)."""
    packed = IPv6Address(address).packed
    wanted = IPv4Address(ipv4).packed
    return sum(bytes(packed[i] for i in positions) == wanted for positions in POSITIONS.values())


def reverse_pointer(address: IPv6Address) -> str:
    """The ip6.arpa name of `address` (for the PTR query of RFC 7050 §3.1.1)."""
    return ipaddress.ip_address(address).reverse_pointer + "."
