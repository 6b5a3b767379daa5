"""RFC 6052 address formats: the §2.4 table both ways, other addresses, invalid input."""

from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from travelsync.nat64 import rfc6052

# RFC 6052 §2.4, 192.0.2.33 under each prefix
TABLE = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100::"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::c000:221"),
    ("64:ff9b::/96", "64:ff9b::c000:221"),
]

# the same prefixes with 198.51.100.7 and 203.0.113.250, worked out by hand from §2.2's byte positions
OTHERS = [
    ("2001:db8::/32", "198.51.100.7", "2001:db8:c633:6407::"),
    ("2001:db8:100::/40", "198.51.100.7", "2001:db8:1c6:3364:7::"),
    ("2001:db8:122::/48", "198.51.100.7", "2001:db8:122:c633:64:700::"),
    ("2001:db8:122:300::/56", "198.51.100.7", "2001:db8:122:3c6:33:6407::"),
    ("2001:db8:122:344::/64", "198.51.100.7", "2001:db8:122:344:c6:3364:700::"),
    ("2001:db8:122:344::/96", "198.51.100.7", "2001:db8:122:344::c633:6407"),
    ("2001:db8:122::/48", "203.0.113.250", "2001:db8:122:cb00:71:fa00::"),
    ("64:ff9b::/96", "8.8.4.4", "64:ff9b::808:404"),
]


@pytest.mark.parametrize("prefix, address", TABLE)
def test_rfc_table_embeds(prefix, address):
    assert rfc6052.embed(IPv6Network(prefix), IPv4Address("192.0.2.33")) == IPv6Address(address)


@pytest.mark.parametrize("prefix, address", TABLE)
def test_rfc_table_extracts(prefix, address):
    assert rfc6052.extract(IPv6Address(address), IPv6Network(prefix)) == IPv4Address("192.0.2.33")


@pytest.mark.parametrize("prefix, ipv4, address", OTHERS)
def test_other_addresses_both_ways(prefix, ipv4, address):
    network = IPv6Network(prefix)
    assert rfc6052.embed(network, IPv4Address(ipv4)) == IPv6Address(address)
    assert rfc6052.extract(IPv6Address(address), network) == IPv4Address(ipv4)


@pytest.mark.parametrize("text", ["2001:db8::/33", "2001:db8::/128", "2001:db8::/16", "2001:db8::1/96",
                                  "2001:db8:0:0:100::/96", "192.0.2.0/24", "nonsense", "2001:db8::/0"])
def test_invalid_prefixes_rejected(text):
    with pytest.raises(rfc6052.InvalidPrefix):
        rfc6052.parse_prefix(text)


def test_valid_prefixes_parse():
    assert rfc6052.parse_prefix(" 2001:db8:122::/48 ") == IPv6Network("2001:db8:122::/48")


@pytest.mark.parametrize("prefix, address", [
    ("2001:db8::/32", "2001:db8:c000:221:100::"),  # u octet 0x01
    ("2001:db8:122::/48", "2001:db8:122:c000:ff02:2100::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:80c0:2:2100::"),
])
def test_non_zero_u_octet_rejected(prefix, address):
    with pytest.raises(rfc6052.NotEmbedded, match="u"):
        rfc6052.extract(IPv6Address(address), IPv6Network(prefix))


def test_address_outside_prefix_is_not_embedded():
    with pytest.raises(rfc6052.NotEmbedded, match="not inside"):
        rfc6052.extract(IPv6Address("2001:db9:122:c000:2:2100::"), IPv6Network("2001:db8:122::/48"))


def test_well_known_prefix_refuses_non_global_ipv4():
    with pytest.raises(rfc6052.NonGlobalWithWellKnownPrefix):
        rfc6052.synthesize(rfc6052.WELL_KNOWN_PREFIX, IPv4Address("10.1.2.3"))
    with pytest.raises(rfc6052.NonGlobalWithWellKnownPrefix):
        rfc6052.synthesize(rfc6052.WELL_KNOWN_PREFIX, IPv4Address("192.0.2.33"))
    assert rfc6052.synthesize(rfc6052.WELL_KNOWN_PREFIX, IPv4Address("8.8.8.8")) == IPv6Address("64:ff9b::808:808")
    # a network-specific prefix may carry any IPv4 address
    assert rfc6052.synthesize(IPv6Network("2001:db8:122::/48"), IPv4Address("10.1.2.3")) == \
        IPv6Address("2001:db8:122:a01:2:300::")


@given(length=st.sampled_from(rfc6052.LENGTHS), high=st.integers(0, 2**96 - 1), ipv4=st.integers(0, 2**32 - 1))
def test_round_trip(length, high, ipv4):
    bits = (high << 32) >> (128 - length) << (128 - length)
    network = IPv6Network((bits, length))
    if length == 96 and network.network_address.packed[8]:
        network = IPv6Network((bits & ~(0xFF << 56), length))
    address = rfc6052.embed(network, IPv4Address(ipv4))
    assert address in network
    assert address.packed[8] == 0
    assert rfc6052.extract(address, network) == IPv4Address(ipv4)
    located = rfc6052.locate_well_known(rfc6052.embed(network, IPv4Address("192.0.0.171")))
    assert located == (network, IPv4Address("192.0.0.171"))


@pytest.mark.parametrize("prefix", [
    "2001:db8:c000:aa::/96",  # 192.0.0.170's bits at the /32 position, u octet zero
    "c000:aa:c000:aa::/64",  # and at the start
    "2001:db8:c000:aa::/64",  # at the /32 position of a /64
])
def test_locate_finds_prefix_holding_the_well_known_bits(prefix):
    network = IPv6Network(prefix)
    address = rfc6052.embed(network, IPv4Address("192.0.0.170"))
    assert rfc6052.occurrences(address, IPv4Address("192.0.0.170")) >= 1
    assert rfc6052.locate_well_known(address) == (network, IPv4Address("192.0.0.170"))


def test_locate_returns_none_without_well_known_address():
    assert rfc6052.locate_well_known(IPv6Address("2001:db8:122:c000:2:2100::")) is None


def test_reverse_pointer():
    assert rfc6052.reverse_pointer(IPv6Address("2001:db8:122:c000:0:aa00::")) == \
        "0.0.0.0.0.0.0.0.0.0.a.a.0.0.0.0.0.0.0.c.2.2.1.0.8.b.d.0.1.0.0.2.ip6.arpa."
