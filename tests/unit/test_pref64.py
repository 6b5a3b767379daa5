"""RFC 8781 PREF64 option decoding, on bytes written out by hand."""

import struct
from ipaddress import IPv6Network

import pytest

from travelsync.nat64 import pref64


def option(word: int, prefix_bytes: bytes, length_units: int = 2, kind: int = 38) -> bytes:
    return struct.pack("!BBH", kind, length_units, word) + prefix_bytes


def ra(*options: bytes) -> bytes:
    return struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + b"".join(options)


WKP = bytes.fromhex("0064ff9b0000000000000000")  # 64:ff9b:: top 96 bits


@pytest.mark.parametrize("code, length, prefix_hex, expected", [
    (0, 96, "0064ff9b0000000000000000", "64:ff9b::/96"),
    (1, 64, "20010db80122034400000000", "2001:db8:122:344::/64"),
    (2, 56, "20010db80122030000000000", "2001:db8:122:300::/56"),
    (3, 48, "20010db80122000000000000", "2001:db8:122::/48"),
    (4, 40, "20010db80100000000000000", "2001:db8:100::/40"),
    (5, 32, "20010db80000000000000000", "2001:db8::/32"),
])
def test_every_length_code(code, length, prefix_hex, expected):
    scaled = 225  # 1800 s
    decoded = pref64.decode_option(option(scaled << 3 | code, bytes.fromhex(prefix_hex)))
    assert decoded == pref64.Pref64(IPv6Network(expected), 1800)
    assert decoded.prefix.prefixlen == length


def test_lifetime_is_scaled_by_eight_and_zero_withdraws():
    assert pref64.decode_option(option(8191 << 3, WKP)).lifetime == 65528
    assert pref64.decode_option(option(0 << 3, WKP)).lifetime == 0


def test_bits_past_the_length_are_ignored():
    decoded = pref64.decode_option(option(10 << 3 | 5, bytes.fromhex("20010db8ffffffffffffffff")))
    assert decoded.prefix == IPv6Network("2001:db8::/32")


@pytest.mark.parametrize("raw", [
    option(1 << 3, WKP, kind=25),  # RDNSS, not PREF64
    option(1 << 3, WKP)[:10],  # truncated
])
def test_not_a_pref64_option(raw):
    assert pref64.decode_option(raw) is None


@pytest.mark.parametrize("raw, reason, prefix", [
    (option(1 << 3 | 6, WKP), "prefix length code 6 (RFC 8781 §4 defines 0-5)", None),
    (option(1 << 3 | 7, WKP), "prefix length code 7 (RFC 8781 §4 defines 0-5)", None),
    (option(1 << 3 | 3, bytes.fromhex("20010db80122000000000000"), length_units=3) + bytes(8),
     "length 3 (RFC 8781 §4: must be 2)", IPv6Network("2001:db8:122::/48")),
    (option(1 << 3, b"", length_units=1) + bytes(4), "length 1 (RFC 8781 §4: must be 2)", None),
])
def test_invalid_pref64_options_are_received_and_ignored_with_the_reason(raw, reason, prefix):
    """RFC 8781 says to ignore them; travelsync still says what came and why it was not used."""
    decoded = pref64.decode_option(raw)
    assert not decoded.usable
    assert decoded.ignored == reason
    assert decoded.prefix == prefix
    assert reason in decoded.describe() and "ignored" in decoded.describe()


def test_96_prefix_with_non_zero_u_octet_is_ignored_as_dns_discovery_refuses_it():
    decoded = pref64.decode_option(option(225 << 3, bytes.fromhex("20010db800010002ff000000")))
    assert (decoded.prefix, decoded.usable) == (IPv6Network("2001:db8:1:2:ff00::/96"), False)
    assert decoded.describe() == ('2001:db8:1:2:ff00::/96 ignored: bits 64-71 (the "u" octet) must be zero '
                                  '(RFC 6052 §2.2)')


def test_withdrawn_option_is_received_but_not_usable():
    decoded = pref64.decode_option(option(0 << 3 | 3, bytes.fromhex("20010db80122000000000000")))
    assert (decoded.prefix, decoded.lifetime, decoded.usable) == (IPv6Network("2001:db8:122::/48"), 0, False)
    assert decoded.describe() == "2001:db8:122::/48 withdrawn (lifetime 0)"
    assert pref64.decode_option(option(225 << 3, WKP)).describe() == "64:ff9b::/96, lifetime 1800 s"


def test_explanation_says_what_was_received_and_why_it_was_not_used():
    withdrawn = pref64.Pref64(IPv6Network("2001:db8:122::/48"), 0, router="fe80::64:1")
    bad = pref64.decode_option(option(1 << 3 | 7, WKP))
    from dataclasses import replace

    assert pref64.explain("ra0", [withdrawn, replace(bad, router="fe80::64:2")], ["fe80::64:1", "fe80::64:2"]) == (
        "PREF64 option from fe80::64:1 on ra0: 2001:db8:122::/48 withdrawn (lifetime 0)",
        "PREF64 option from fe80::64:2 on ra0: ignored: prefix length code 7 (RFC 8781 §4 defines 0-5)",
        "no usable PREF64 option on ra0 (routers heard: fe80::64:1, fe80::64:2); asked DNS instead")
    assert pref64.explain("ra0", [], ["fe80::64:1"]) == (
        "no PREF64 option on ra0 (routers heard: fe80::64:1); asked DNS instead",)
    assert pref64.explain("ra0", [], []) == (
        "no PREF64 option on ra0 (no router advertisement heard); asked DNS instead",)


def test_an_advertisement_lists_ignored_and_withdrawn_options_too():
    packet = ra(option(1 << 3 | 7, WKP), option(0, WKP), option(225 << 3, WKP))
    decoded = pref64.decode_router_advertisement(packet)
    assert [d.usable for d in decoded] == [False, False, True]


def test_router_advertisement_with_other_options():
    source_link_layer = bytes([1, 1]) + bytes.fromhex("020000000001")
    mtu = struct.pack("!BBHI", 5, 1, 0, 1500)
    packet = ra(source_link_layer, option(225 << 3 | 3, bytes.fromhex("20010db80122000000000000")), mtu,
                option(100 << 3, WKP))
    assert pref64.decode_router_advertisement(packet) == [
        pref64.Pref64(IPv6Network("2001:db8:122::/48"), 1800),
        pref64.Pref64(IPv6Network("64:ff9b::/96"), 800),
    ]


def test_not_a_router_advertisement_or_malformed():
    packet = ra(option(225 << 3, WKP))
    assert pref64.decode_router_advertisement(b"\x85" + packet[1:]) == []  # type 133, not an RA
    assert pref64.decode_router_advertisement(packet[:8]) == []
    zero_length = ra(bytes([38, 0]) + bytes(14), option(225 << 3, WKP))
    assert pref64.decode_router_advertisement(zero_length) == []  # RFC 4861: stop at length 0
    overrun = ra(bytes([38, 4]) + bytes(14))
    assert pref64.decode_router_advertisement(overrun) == []


def test_router_solicitation_bytes():
    assert pref64.router_solicitation() == bytes([133, 0, 0, 0, 0, 0, 0, 0])


def test_only_link_local_sources_with_hop_limit_255_count():
    from ipaddress import IPv6Address

    packet = ra(option(225 << 3, WKP))
    assert pref64.acceptable(packet, IPv6Address("fe80::64:1"), 255)
    assert not pref64.acceptable(packet, IPv6Address("fe80::64:1"), 254)  # forwarded: off-link
    assert not pref64.acceptable(packet, IPv6Address("fe80::64:1"), None)
    assert not pref64.acceptable(packet, IPv6Address("2001:db8::1"), 255)
    assert not pref64.acceptable(pref64.router_solicitation(), IPv6Address("fe80::1"), 255)
