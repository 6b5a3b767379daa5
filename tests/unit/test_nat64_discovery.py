"""RFC 7050 rules on given answers (no network): discovery outcomes, order and traps;
validation (§3.1.2) with a fake DNS, the connectivity check (§3.2) with a recording runner."""

import random
from ipaddress import IPv4Address, IPv6Network

import pytest

from travelsync.errors import UsageError
from travelsync.nat64 import connectivity, discovery, rfc6052, validate
from travelsync.nat64.discovery import Answer
from travelsync.nat64.resolver import Nameserver, parse_nameserver
from travelsync.process import Completed


def synthetic(prefix: str, wka: str = "192.0.0.170") -> str:
    return str(rfc6052.embed(IPv6Network(prefix), IPv4Address(wka)))


def test_every_answer_examined_first_seen_order():
    records = (synthetic("2001:db8:122::/48"), synthetic("64:ff9b::/96"),
               synthetic("2001:db8:122::/48", "192.0.0.171"), synthetic("64:ff9b::/96", "192.0.0.171"))
    result = discovery.decide(Answer(discovery.ANSWER, records, 300, "127.0.0.1:53"))
    assert result.outcome == discovery.FOUND
    assert result.prefixes == (IPv6Network("2001:db8:122::/48"), IPv6Network("64:ff9b::/96"))
    assert result.ttl == 300


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_answers_keep_first_seen_order(seed):
    prefixes = ["2001:db8::/32", "2001:db8:100::/40", "2001:db8:122:300::/56", "64:ff9b::/96"]
    owners = {synthetic(p, w): p for p in prefixes for w in ("192.0.0.170", "192.0.0.171")}
    records = list(owners)
    random.Random(seed).shuffle(records)
    expected = []
    for record in records:
        owner = owners[record]
        if owner not in expected:
            expected.append(owner)
    result = discovery.decide(Answer(discovery.ANSWER, tuple(records), 60))
    assert [str(p) for p in result.prefixes] == expected


def test_prefix_holding_the_well_known_bit_pattern_is_found_through_192_0_0_171():
    # bytes 4-7 of this /96 prefix are c0 00 00 aa: 192.0.0.170 occurs twice in its record, so
    # RFC 7050 §3 searches again with 192.0.0.171, which occurs once
    records = (synthetic("2001:db8:c000:aa::/96"), synthetic("2001:db8:c000:aa::/96", "192.0.0.171"))
    result = discovery.decide(Answer(discovery.ANSWER, records, 30))
    assert (result.outcome, result.prefixes) == (discovery.FOUND, (IPv6Network("2001:db8:c000:aa::/96"),))
    assert any("192.0.0.170 occurs 2 times" in note and "192.0.0.171" in note for note in result.notes)


def test_single_ambiguous_record_is_non_standard_not_the_longest_position():
    """One AAAA record holding 192.0.0.170 at the /32 and the /64 position, and no record with
    192.0.0.171: RFC 7050 §3 has no way to choose (it was "found 2001:db8:c000:aa::/64")."""
    record = synthetic("2001:db8:c000:aa::/64")
    assert record == "2001:db8:c000:aa:c0:0:aa00:0"
    result = discovery.decide(Answer(discovery.ANSWER, (record,), 30))
    assert (result.outcome, result.prefixes) == (discovery.NON_STANDARD, ())
    assert any("192.0.0.170 occurs 2 times" in note for note in result.notes)
    assert any("searching with 192.0.0.171" in note for note in result.notes)
    assert result.notes[-1] == "no well-known address occurs only once: heuristic failed (RFC 7050 §3)"
    assert discovery.exit_code_for(result.outcome) == 1


def test_host_bits_holding_the_well_known_address_give_the_true_prefix():
    """BIND `dns64 2001:db8::/32 { suffix ::c000:aa; }`: every record carries 192.0.0.170 in its
    host bits. 170 is ambiguous in its own record; 171 occurs once: 2001:db8::/32 (it was two
    bogus /96 prefixes, 2001:db8:c000:aa::/96 and 2001:db8:c000:ab::/96)."""
    records = ("2001:db8:c000:ab::c000:aa", "2001:db8:c000:aa::c000:aa")
    result = discovery.decide(Answer(discovery.ANSWER, records, 30))
    assert (result.outcome, result.prefixes) == (discovery.FOUND, (IPv6Network("2001:db8::/32"),))


def test_both_well_known_addresses_ambiguous_fails():
    records = ("2001:db8:c000:aa::c000:aa", "2001:db8:c000:ab::c000:ab")
    result = discovery.decide(Answer(discovery.ANSWER, records, 30))
    assert (result.outcome, result.prefixes) == (discovery.NON_STANDARD, ())
    assert sum("occurs 2 times" in note for note in result.notes) == 2


def test_96_prefix_with_non_zero_u_octet_is_rejected_with_the_reason():
    """unbound `dns64-prefix: 2001:db8:1:2:ff00::/96`: not an RFC 6052 prefix (§2.2), so not
    "found" (synthesize and check refuse it too); the JSON says which prefix and why."""
    records = ("2001:db8:1:2:ff00:0:c000:aa", "2001:db8:1:2:ff00:0:c000:ab")
    result = discovery.decide(Answer(discovery.ANSWER, records, 30))
    assert (result.outcome, result.prefixes) == (discovery.NON_STANDARD, ())
    assert result.rejected == ((IPv6Network("2001:db8:1:2:ff00::/96"),
                                'bits 64-71 (the "u" octet) must be zero (RFC 6052 §2.2)'),)
    assert result.as_json()["rejected"] == [{"prefix": "2001:db8:1:2:ff00::/96",
                                             "reason": 'bits 64-71 (the "u" octet) must be zero (RFC 6052 §2.2)'}]


def test_only_192_0_0_171_answered():
    result = discovery.decide(Answer(discovery.ANSWER, (synthetic("2001:db8:122:344::/64", "192.0.0.171"),), 10))
    assert result.outcome == discovery.FOUND
    assert result.prefixes == (IPv6Network("2001:db8:122:344::/64"),)


def test_non_standard_when_no_well_known_address_at_a_position():
    # 192.0.0.170 at bytes 10-13: no RFC 6052 position; and a plain address
    result = discovery.decide(Answer(discovery.ANSWER, ("2001:db8:122:0:0:c000:aa:0", "2001:db8::1"), 120))
    assert result.outcome == discovery.NON_STANDARD
    assert result.prefixes == ()
    assert result.ttl == 120
    assert discovery.exit_code_for(result.outcome) == 1


def test_non_zero_u_octet_is_not_a_match():
    # 192.0.0.170 at the /48 position, but byte 8 is 0x01
    result = discovery.decide(Answer(discovery.ANSWER, ("2001:db8:122:c000:100:aa00::",), 120))
    assert result.outcome == discovery.NON_STANDARD


def test_not_dns64_when_a_records_are_the_well_known_addresses():
    result = discovery.decide(Answer(discovery.NODATA, (), 300, "s"),
                              Answer(discovery.ANSWER, ("192.0.0.170", "192.0.0.171"), 300, "s"))
    assert result.outcome == discovery.NOT_DNS64
    assert result.ttl == 300


@pytest.mark.parametrize("aaaa_status", [discovery.NXDOMAIN, discovery.NODATA])
def test_no_nat64_with_negative_ttl(aaaa_status):
    result = discovery.decide(Answer(aaaa_status, (), 900, "s"), Answer(aaaa_status, (), 900, "s"))
    assert result.outcome == discovery.NO_NAT64
    assert result.ttl == 900
    assert discovery.exit_code_for(result.outcome) == 1


@pytest.mark.parametrize("status", [discovery.TIMEOUT, discovery.SERVFAIL, discovery.REFUSED])
def test_no_answer(status):
    result = discovery.decide(Answer(status, server="s"))
    assert result.outcome == discovery.NO_ANSWER
    assert result.ttl is None
    assert discovery.exit_code_for(result.outcome) == 75


def test_found_exits_zero_and_json_shape():
    result = discovery.decide(Answer(discovery.ANSWER, (synthetic("64:ff9b::/96"),), 42))
    assert discovery.exit_code_for(result.outcome) == 0
    data = result.as_json()
    assert (data["outcome"], data["prefixes"], data["ttl"]) == ("found", ["64:ff9b::/96"], 42)


def test_pref64_discovery_deduplicates():
    result = discovery.from_pref64([IPv6Network("64:ff9b::/96")] * 2, 1800, "eth0")
    assert (result.outcome, result.prefixes, result.source) == ("found", (IPv6Network("64:ff9b::/96"),), "ra")
    assert discovery.from_pref64([], None, "eth0").outcome == discovery.NO_NAT64


@pytest.mark.parametrize("text, host, port", [
    ("192.0.2.53", "192.0.2.53", 53),
    ("127.0.0.1:5353", "127.0.0.1", 5353),
    ("2001:db8::53", "2001:db8::53", 53),
    ("[::1]:5353", "::1", 5353),
    ("[2001:db8::1]", "2001:db8::1", 53),
    ("fe80::1%eth0", "fe80::1%eth0", 53),
    ("[fe80::1%wlan0]:53", "fe80::1%wlan0", 53),
])
def test_parse_nameserver(text, host, port):
    assert parse_nameserver(text) == Nameserver(host, port)


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "[::1]x", "fe80::1%",
                                  "127.0.0.1:dns"])
def test_parse_nameserver_rejects(text):
    with pytest.raises(UsageError, match="nameserver"):
        parse_nameserver(text)


# -- validation (RFC 7050 §3.1.2) and connectivity check (§3.2) with a fake DNS and runner --

NSP = IPv6Network("2001:db8:122::/48")


def fake_dns(records: dict, authenticated=False):
    asked = []

    def ask(name, rdtype, dnssec=False):
        asked.append((name, rdtype, dnssec))
        found = records.get((name, rdtype))
        if found is None:
            return Answer(discovery.NXDOMAIN, ttl=60)
        return Answer(discovery.ANSWER, tuple(found), 300, "fake", authenticated and dnssec)

    return ask, asked


def ptr_records(prefix, fqdn):
    return {(rfc6052.reverse_pointer(rfc6052.embed(prefix, w)), "PTR"): [fqdn] for w in rfc6052.WELL_KNOWN_IPV4}


def test_validation_valid_and_dnssec_reported_honestly():
    records = {**ptr_records(NSP, "nat64.example.net."),
               ("nat64.example.net.", "AAAA"): [synthetic(str(NSP))],
               ("nat64.example.net.", "A"): ["198.51.100.9"]}
    ask, asked = fake_dns(records)
    result = validate.validate(NSP, ["example.net"], ask)
    assert (result.status, result.fqdn, result.check_servers) == ("valid", "nat64.example.net.", ("198.51.100.9",))
    assert result.dnssec.startswith("not validated")
    assert ("nat64.example.net.", "AAAA", True) in asked  # asked with DO for the AD bit
    secure = validate.validate(NSP, ["example.net"], fake_dns(records, authenticated=True)[0])
    assert secure.dnssec.startswith("secure")


def test_validation_rejects_wrong_aaaa_untrusted_domain_and_lookalikes():
    records = {**ptr_records(NSP, "nat64.evilexample.net."),
               ("nat64.evilexample.net.", "AAAA"): [synthetic("2001:db8:999::/48")]}
    assert validate.validate(NSP, ["example.net"], fake_dns(records)[0]).status == "untrusted"
    assert validate.validate(NSP, ["evilexample.net"], fake_dns(records)[0]).status == "invalid"
    assert validate.validate(NSP, [], fake_dns({})[0]).status == "unknown"
    assert validate.validate(rfc6052.WELL_KNOWN_PREFIX, ["example.net"], fake_dns({})[0]).status == "impossible"
    assert validate.in_trusted_domain("NAT64.Example.NET.", ["example.net."])
    assert not validate.in_trusted_domain("example.net.evil.org", ["example.net"])


def recording_runner(received: int):
    calls = []

    def run(argv, *, input=None, timeout=None, env=None):
        calls.append(list(argv))
        out = f"3 packets transmitted, {received} received, {100 - 33 * received}% packet loss\n"
        return Completed(tuple(argv), 0 if received else 1, out.encode(), b"")

    return run, calls


def test_connectivity_pings_synthesized_check_server_never_the_well_known_address():
    run, calls = recording_runner(received=2)
    result = connectivity.check_prefix(NSP, ["192.0.0.170", "198.51.100.9"], run)
    assert result.status == "ok"
    assert calls == [["ping", "-6", "-n", "-q", "-c", "3", "-i", "1", "-w", "5", "2001:db8:122:c633:64:900::"]]
    assert connectivity.check_prefix(NSP, ["192.0.0.171"], run).status == "unknown"


def test_connectivity_failure_and_reply_parsing():
    run, calls = recording_runner(received=0)
    result = connectivity.check_prefix(NSP, ["198.51.100.9", "203.0.113.1"], run)
    assert result.status == "failed" and len(calls) == 2
    assert connectivity.replies("3 packets transmitted, 1 received, +2 errors") == 1
    assert connectivity.replies("garbage") == 0


def test_system_nameservers_from_resolv_conf_keep_zone_ids(tmp_path):
    from travelsync.nat64.resolver import system_nameservers

    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text("search example.net\nnameserver fe80::1%wlan0\nnameserver 192.0.2.53\n")
    assert system_nameservers(str(resolv_conf)) == [Nameserver("fe80::1%wlan0"), Nameserver("192.0.2.53")]
    empty = tmp_path / "empty.conf"
    empty.write_text("# nothing\n")
    with pytest.raises(UsageError, match="no usable nameserver"):
        system_nameservers(str(empty))
