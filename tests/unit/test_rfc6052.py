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
    synthetic = rfc6052.embed(network, IPv4Address("192.0.0.171"))
    if len(rfc6052.places(synthetic, IPv4Address("192.0.0.171"))) == 1:  # else RFC 7050 asks for 170
        assert rfc6052.prefix_embedding(synthetic, IPv4Address("192.0.0.171")) == network


@pytest.mark.parametrize("prefix", [
    "2001:db8:c000:aa::/96",  # 192.0.0.170's bits at the /32 position, u octet zero
    "c000:aa:c000:aa::/64",  # and at the start
    "2001:db8:c000:aa::/64",  # at the /32 position of a /64
])
def test_prefix_holding_the_well_known_bits_is_ambiguous_for_170_not_171(prefix):
    """RFC 7050 §3: 192.0.0.170 more than once on octet boundaries is ambiguous (the search
    then turns to 192.0.0.171); no "longest position wins"."""
    network = IPv6Network(prefix)
    wka170, wka171 = rfc6052.WELL_KNOWN_IPV4
    address = rfc6052.embed(network, wka170)
    assert len(rfc6052.places(address, wka170)) >= 2
    with pytest.raises(rfc6052.Ambiguous, match="192.0.0.170 occurs"):
        rfc6052.prefix_embedding(address, wka170)
    assert rfc6052.prefix_embedding(rfc6052.embed(network, wka171), wka171) == network


def test_places_are_every_octet_boundary_not_only_rfc6052_positions():
    wka = IPv4Address("192.0.0.170")
    # host bits (the suffix) repeat the address: at the /32 position and at bytes 12-15
    assert rfc6052.places(IPv6Address("2001:db8:c000:aa::c000:aa"), wka) == ((4, 5, 6, 7), (12, 13, 14, 15))
    # bytes 10-13: an octet boundary, but no RFC 6052 position
    assert rfc6052.places(IPv6Address("2001:db8:122::c000:aa:0"), wka) == ((10, 11, 12, 13),)
    with pytest.raises(rfc6052.NotEmbedded, match="not at an RFC 6052 position"):
        rfc6052.prefix_embedding(IPv6Address("2001:db8:122::c000:aa:0"), wka)
    with pytest.raises(rfc6052.NotEmbedded, match="does not hold"):
        rfc6052.prefix_embedding(IPv6Address("2001:db8:122:c000:2:2100::"), wka)


def test_u_octet_rule_is_one_rule_with_one_message():
    """A /96 prefix whose bits 64-71 are not zero (unbound accepts it, BIND refuses it) is not an
    RFC 6052 prefix (§2.2): typed with --prefix, or found in a DNS64 answer, the same words."""
    wka = IPv4Address("192.0.0.170")
    with pytest.raises(rfc6052.InvalidPrefix) as typed:
        rfc6052.parse_prefix("2001:db8:1:2:ff00::/96")
    with pytest.raises(rfc6052.InvalidPrefix) as answered:
        rfc6052.prefix_embedding(IPv6Address("2001:db8:1:2:ff00:0:c000:aa"), wka)
    assert str(typed.value) == str(answered.value) == (
        '2001:db8:1:2:ff00::/96: bits 64-71 (the "u" octet) must be zero (RFC 6052 §2.2)')
    assert answered.value.network == IPv6Network("2001:db8:1:2:ff00::/96")
    # below /96 the u octet belongs to the address: not zero there, the address is not synthetic
    with pytest.raises(rfc6052.NotEmbedded, match='"u" octet'):
        rfc6052.prefix_embedding(IPv6Address("2001:db8:122:c000:100:aa00::"), wka)


def test_well_known_prefix_rule_one_message_both_ways():
    """RFC 6052 §3.1: 64:ff9b::/96 must not represent a non-global IPv4 address. synthesize
    refuses to make such an address, and check refuses to call one synthetic, in the same words."""
    with pytest.raises(rfc6052.NonGlobalWithWellKnownPrefix) as made:
        rfc6052.synthesize(rfc6052.WELL_KNOWN_PREFIX, IPv4Address("10.0.0.1"))
    with pytest.raises(rfc6052.NonGlobalWithWellKnownPrefix) as checked:
        rfc6052.synthetic_ipv4(IPv6Address("64:ff9b::a00:1"), rfc6052.WELL_KNOWN_PREFIX)
    assert str(made.value) == str(checked.value) == (
        "10.0.0.1 is not a global IPv4 address: the well-known prefix 64:ff9b::/96 must not represent it "
        "(RFC 6052 §3.1)")
    assert rfc6052.synthetic_ipv4(IPv6Address("64:ff9b::808:404"), rfc6052.WELL_KNOWN_PREFIX) == \
        IPv4Address("8.8.4.4")
    assert rfc6052.synthetic_ipv4(IPv6Address("2001:db8:122:a00:0:100::"), IPv6Network("2001:db8:122::/48")) == \
        IPv4Address("10.0.0.1")  # a network-specific prefix may carry any IPv4 address


def test_reverse_pointer():
    assert rfc6052.reverse_pointer(IPv6Address("2001:db8:122:c000:0:aa00::")) == \
        "0.0.0.0.0.0.0.0.0.0.a.a.0.0.0.0.0.0.0.c.2.2.1.0.8.b.d.0.1.0.0.2.ip6.arpa."
