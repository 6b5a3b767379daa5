"""`nat64 discover | synthesize | check` against real DNS64 servers (unbound, BIND) on loopback."""

import time
from ipaddress import IPv6Address, IPv6Network

import pytest

from travelsync.nat64 import rfc6052

pytestmark = pytest.mark.integration

PREFIXES = ["2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48", "2001:db8:122:300::/56",
            "2001:db8:122:344::/64", "64:ff9b::/96"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_unbound_each_prefix_length_found_exactly(cli, unbound_dns64, prefix):
    server = unbound_dns64(prefix)
    result = cli("--json", "nat64", "discover", "-n", server.v4)
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["outcome"] == "found"
    assert data["prefixes"] == [prefix]
    assert 295 <= data["ttl"] <= 300  # the zone's TTL (a cached answer may count down)
    assert len(data["addresses"]) == 2  # both well-known addresses synthesized, both examined


def test_prefix_holding_well_known_bits_over_ipv6(cli, unbound_dns64):
    # bytes 4-7 of this prefix are 192.0.0.170: a search that tries /32 first gets it wrong
    server = unbound_dns64("2001:db8:c000:aa::/96")
    result = cli("--json", "nat64", "discover", "-n", server.v6)
    assert result.exit_code == 0, result.stderr
    assert result.json["prefixes"] == ["2001:db8:c000:aa::/96"]
    assert result.json["server"] == server.v6


def test_list_output_like_nat64disc(cli, unbound_dns64):
    server = unbound_dns64("2001:db8:122::/48")
    result = cli("nat64", "discover", "-l", "-n", server.v4)
    assert (result.exit_code, result.stdout) == (0, "Prefix: 2001:db8:122::/48\n")


def test_bind_two_prefixes_in_first_seen_order(cli, bind_dns64):
    seen_orders = set()
    for _ in range(6):
        result = cli("--json", "nat64", "discover", "-n", bind_dns64.v4)
        assert result.exit_code == 0, result.stderr
        data = result.json
        assert sorted(data["prefixes"]) == ["2001:db8:122::/48", "64:ff9b::/96"]
        assert len(data["addresses"]) == 4
        first_seen = []
        for address in data["addresses"]:  # the order the records arrived in
            prefix = next(p for p in data["prefixes"] if IPv6Address(address) in IPv6Network(p))
            if prefix not in first_seen:
                first_seen.append(prefix)
        assert data["prefixes"] == first_seen
        seen_orders.add(tuple(data["prefixes"]))
    assert seen_orders  # BIND shuffles: whichever order came, it was kept


U_OCTET_REASON = 'bits 64-71 (the "u" octet) must be zero (RFC 6052 §2.2)'


def test_96_prefix_with_non_zero_u_octet_discover_synthesize_and_check_agree(cli, unbound_dns64):
    """unbound accepts `dns64-prefix: 2001:db8:1:2:ff00::/96` (BIND refuses it). RFC 6052 §2.2:
    bits 64-71 must be zero, so it is not an RFC 6052 prefix. discover said "found" (exit 0)
    while synthesize refused it (exit 1) and check called the server's own answer not
    synthetic: now all three refuse it, exit 1, naming the prefix and the rule."""
    import dns.message
    import dns.query

    server = unbound_dns64("2001:db8:1:2:ff00::/96")
    found = cli("--json", "nat64", "discover", "-n", server.v4)
    assert (found.exit_code, found.json["outcome"], found.json["prefixes"]) == (1, "non-standard", [])
    assert found.json["rejected"] == [{"prefix": "2001:db8:1:2:ff00::/96", "reason": U_OCTET_REASON}]
    assert f"2001:db8:1:2:ff00::/96 left out: {U_OCTET_REASON}" in found.stderr

    made = cli("--json", "nat64", "synthesize", "192.0.2.33", "-n", server.v4)
    assert (made.exit_code, made.json["addresses"]) == (1, [])
    assert made.json["refused"] == [{"prefix": "2001:db8:1:2:ff00::/96", "reason": U_OCTET_REASON}]

    # the server's own answer for an IPv4-only name
    reply = dns.query.udp(dns.message.make_query("v4host.rig.example.", "AAAA"), "127.0.0.1", port=server.port,
                          timeout=2)
    (answer,) = [rdata.address for rrset in reply.answer for rdata in rrset]
    assert answer == "2001:db8:1:2:ff00:0:c000:221"
    checked = cli("--json", "nat64", "check", answer, "-n", server.v4)
    assert (checked.exit_code, checked.json["synthetic"]) == (1, False)
    assert f"2001:db8:1:2:ff00::/96: {U_OCTET_REASON}" in checked.json["reasons"]
    human = cli("nat64", "check", answer, "-n", server.v4)
    assert human.exit_code == 1 and U_OCTET_REASON in human.stdout + human.stderr
    typed = cli("nat64", "synthesize", "192.0.2.33", "--prefix", "2001:db8:1:2:ff00::/96")
    assert typed.exit_code == 2 and U_OCTET_REASON in typed.stderr  # typed by hand: a usage error

    from travelsync.config.model import Nat64Check, Preflight
    from travelsync.preflight.checks import nat64 as check

    class Config:  # the preflight check says the same (only preflight.nat64 is read)
        preflight = Preflight(nat64=Nat64Check(nameserver=server.v4, timeout=1.0))

    preflight = check.run(Config())
    assert preflight.status == "warn" and preflight.data["outcome"] == "non-standard"
    assert f"2001:db8:1:2:ff00::/96 left out: {U_OCTET_REASON}" in preflight.details


def test_one_record_with_the_well_known_address_twice_is_non_standard(cli, unbound_dns64):
    """2001:db8:c000:aa::/64 holds 192.0.0.170's bits at the /32 position. Asked for a name with
    only A 192.0.0.170, the one AAAA record holds it twice (/32 and /64) and there is no
    192.0.0.171 to search instead: RFC 7050 §3's heuristic fails (it said "found /64").
    ipv4only.arpa, with both records, is found through 192.0.0.171."""
    server = unbound_dns64("2001:db8:c000:aa::/64")
    single = cli("--json", "nat64", "discover", "-n", server.v4, "-d", "wka170.rig.example")
    assert single.json["addresses"] == ["2001:db8:c000:aa:c0:0:aa00:0"]
    assert (single.exit_code, single.json["outcome"], single.json["prefixes"]) == (1, "non-standard", [])
    assert any("192.0.0.170 occurs 2 times" in note for note in single.json["notes"])
    both = cli("--json", "nat64", "discover", "-n", server.v4)
    assert (both.exit_code, both.json["prefixes"]) == (0, ["2001:db8:c000:aa::/64"])


def test_host_bits_holding_the_well_known_address_bind_suffix(cli, bind_dns64_host_bits):
    """BIND `dns64 2001:db8::/32 { suffix ::c000:aa; }` puts 192.0.0.170 in every record's host
    bits: the longest position made two bogus /96 prefixes of it; RFC 7050 §3 (170 twice in
    its record: search 171) finds 2001:db8::/32."""
    result = cli("--json", "nat64", "discover", "-n", bind_dns64_host_bits.v4)
    assert sorted(result.json["addresses"]) == ["2001:db8:c000:aa::c000:aa", "2001:db8:c000:ab::c000:aa"]
    assert (result.exit_code, result.json["outcome"], result.json["prefixes"]) == (0, "found", ["2001:db8::/32"])
    made = cli("nat64", "synthesize", "198.51.100.7", "-n", bind_dns64_host_bits.v4)
    assert (made.exit_code, made.stdout) == (0, "2001:db8:c633:6407::\n")


WELL_KNOWN_RULE = ("10.0.0.1 is not a global IPv4 address: the well-known prefix 64:ff9b::/96 must not "
                   "represent it (RFC 6052 §3.1)")


def test_well_known_prefix_with_non_global_ipv4_one_rule_one_message(cli, bind_dns64):
    """synthesize printed two differently worded warnings and exited 1; check accepted the same
    address (exit 0, "synthetic"). One rule (RFC 6052 §3.1), one message, exit 1 both ways."""
    made = cli("nat64", "synthesize", "10.0.0.1", "--prefix", "64:ff9b::/96")
    assert made.exit_code == 1 and made.stdout == ""
    assert made.stderr.count("10.0.0.1") == 1 and WELL_KNOWN_RULE in made.stderr
    for args in (["--prefix", "64:ff9b::/96"], ["-n", bind_dns64.v4]):
        checked = cli("nat64", "check", "64:ff9b::a00:1", *args)
        assert checked.exit_code == 1, args
        assert (checked.stdout + checked.stderr).count(WELL_KNOWN_RULE) == 1, (checked.stdout, checked.stderr)
        data = cli("--json", "nat64", "check", "64:ff9b::a00:1", *args).json
        assert (data["synthetic"], data["prefix"], data["ipv4"]) == (False, None, None)
        assert WELL_KNOWN_RULE in data["reasons"]
    made = cli("--json", "nat64", "synthesize", "10.0.0.1", "--prefix", "64:ff9b::/96").json
    assert made["refused"] == [{"prefix": "64:ff9b::/96", "reason": WELL_KNOWN_RULE}]
    # through BIND's network-specific prefix the same address is fine, and so is a global one
    assert cli("nat64", "check", "2001:db8:122:a00:0:100::", "-n", bind_dns64.v4).exit_code == 0
    assert cli("nat64", "check", "64:ff9b::808:404", "--prefix", "64:ff9b::/96").exit_code == 0


def test_resolver_without_dns64_is_not_dns64(cli, plain_resolver):
    result = cli("--json", "nat64", "discover", "-n", plain_resolver.v4)
    assert result.exit_code == 1
    assert result.json["outcome"] == "not-dns64"
    assert result.json["prefixes"] == []
    assert 295 <= result.json["ttl"] <= 300  # the negative TTL: min(SOA TTL 300, SOA minimum 600)


def test_no_such_name_is_no_nat64_with_negative_ttl(cli, plain_resolver):
    result = cli("--json", "nat64", "discover", "-n", plain_resolver.v6, "-d", "nxdomain.rig.example")
    assert result.exit_code == 1
    assert result.json["outcome"] == "no-nat64"
    assert 295 <= result.json["ttl"] <= 300


def test_non_standard_answers(cli, plain_resolver):
    result = cli("--json", "nat64", "discover", "-n", plain_resolver.v4, "-d", "odd.rig.example")
    assert result.exit_code == 1
    assert result.json["outcome"] == "non-standard"
    assert set(result.json["addresses"]) == {"2001:db8:122::c000:aa:0", "2001:db8::1"}


def test_no_server_listening_is_no_answer_within_timeout(cli):
    from tests.fixtures.dns64 import free_port

    port = free_port()
    started = time.monotonic()
    result = cli("--json", "nat64", "discover", "-n", f"127.0.0.1:{port}", "--timeout", "1")
    elapsed = time.monotonic() - started
    assert result.exit_code == 75
    assert result.json["outcome"] == "no-answer"
    assert elapsed < 1.5


def test_synthesize_and_check_with_discovered_prefix(cli, unbound_dns64):
    server = unbound_dns64("2001:db8:122:344::/64")
    made = cli("--json", "nat64", "synthesize", "198.51.100.7", "-n", server.v4)
    assert made.exit_code == 0, made.stderr
    assert made.json["addresses"] == [{"prefix": "2001:db8:122:344::/64", "address": "2001:db8:122:344:c6:3364:700:0"}]
    checked = cli("nat64", "check", "2001:db8:122:344:c6:3364:700:0", "-n", server.v4)
    assert checked.exit_code == 0
    assert checked.stdout.strip() == ("2001:db8:122:344:c6:3364:700:0 is synthetic: "
                                      "prefix 2001:db8:122:344::/64, IPv4 198.51.100.7")
    other = cli("--json", "nat64", "check", "2001:db8:ffff::34", "-n", server.v4)
    assert other.exit_code == 1
    assert other.json["synthetic"] is False
    assert other.json["prefixes_checked"] == ["2001:db8:122:344::/64", "64:ff9b::/96"]


def test_synthesize_one_address_per_bind_prefix(cli, bind_dns64):
    made = cli("--json", "nat64", "synthesize", "8.8.4.4", "-n", bind_dns64.v6)
    assert made.exit_code == 0
    assert sorted(a["address"] for a in made.json["addresses"]) == ["2001:db8:122:808:4:400::", "64:ff9b::808:404"]
    refused = cli("--json", "nat64", "synthesize", "10.0.0.1", "-n", bind_dns64.v6)
    assert refused.exit_code == 0  # the network-specific prefix may carry it
    assert [a["address"] for a in refused.json["addresses"]] == ["2001:db8:122:a00:0:100::"]
    assert refused.json["refused"][0]["prefix"] == "64:ff9b::/96"


def test_given_prefix_needs_no_dns_and_bad_prefix_is_usage_error(cli):
    made = cli("nat64", "synthesize", "192.0.2.33", "--prefix", "2001:db8:100::/40")
    assert (made.exit_code, made.stdout) == (0, "2001:db8:1c0:2:21::\n")
    bad = cli("nat64", "synthesize", "192.0.2.33", "--prefix", "2001:db8::/44")
    assert bad.exit_code == 2
    assert "RFC 6052 allows only" in bad.stderr
    bad_server = cli("nat64", "discover", "-n", "dns.example")
    assert bad_server.exit_code == 2
    assert "not an IP address" in bad_server.stderr


def test_validate_without_ptr_records_leaves_prefix_out(cli, unbound_dns64):
    server = unbound_dns64("2001:db8:122::/48")
    result = cli("--json", "nat64", "discover", "-n", server.v4, "--validate", "--trusted-domain", "rig.example")
    assert result.exit_code == 1
    assert result.json["outcome"] == "found"
    assert result.json["prefixes"] == []
    assert result.json["validation"][0]["status"] == "unknown"
    assert "validation unknown" in result.stderr


def test_well_known_prefix_cannot_be_validated(cli, unbound_dns64):
    server = unbound_dns64("64:ff9b::/96")
    result = cli("--json", "nat64", "discover", "-n", server.v4, "--validate")
    assert result.exit_code == 0
    assert result.json["validation"][0]["status"] == "impossible"
    assert result.json["prefixes"] == ["64:ff9b::/96"]


def test_preflight_check_with_configured_dns64(unbound_dns64, plain_resolver):
    from travelsync.config.model import Nat64Check, Preflight
    from travelsync.preflight.checks import nat64 as check

    assert check.NAME == "nat64"
    server = unbound_dns64("2001:db8:122::/48")

    class Fake:  # only preflight.nat64 is read
        preflight = Preflight(nat64=Nat64Check(nameserver=server.v4, timeout=1.0))

    result = check.run(Fake())
    assert "2001:db8:122::/48" in result.summary
    assert result.data["outcome"] == "found"
    assert any(line.startswith("Prefix: 2001:db8:122::/48") for line in result.details)

    Fake.preflight = Preflight(nat64=Nat64Check(nameserver=plain_resolver.v4, timeout=1.0))
    plain = check.run(Fake())
    assert "not a DNS64" in plain.summary
    assert plain.status in ("skip", "fail")
    assert plain.status == ("skip" if check.has_native_ipv4() else "fail")


def test_ra_on_missing_interface_is_usage_error(cli):
    result = cli("nat64", "discover", "--ra", "nosuchif0")
    assert result.exit_code == 2
    assert "nosuchif0: no such network interface" in result.stderr


def test_list_without_prefix_says_why_on_stderr(cli, plain_resolver):
    result = cli("nat64", "discover", "-l", "-n", plain_resolver.v4)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("not-dns64: resolver is not a DNS64")


class ScriptedResponder:
    """A UDP responder on loopback that follows a script per query ("drop", "servfail", "answer"):
    only to prove the retry behaviour, which the real servers will not misbehave for on demand."""

    def __init__(self, script):
        import socket
        import threading

        self.script, self.queries = list(script), []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import dns.message
        import dns.rcode
        import dns.rrset

        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            self.queries.append(query)
            step = self.script.pop(0) if self.script else "servfail"
            if step == "drop":
                continue
            response = dns.message.make_response(query)
            if step == "servfail":
                response.set_rcode(dns.rcode.SERVFAIL)
            else:
                response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "AAAA",
                                                           "64:ff9b::c000:aa"))
            self.sock.sendto(response.to_wire(), peer)

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


@pytest.mark.parametrize("script, outcome, exit_code, asked", [
    (["drop", "answer"], "found", 0, 2),  # a lost datagram is retried
    (["servfail", "servfail", "answer"], "found", 0, 3),
    (["servfail"] * 3, "no-answer", 75, 3),  # then no more than three tries
])
def test_retries_on_timeout_and_servfail(cli, script, outcome, exit_code, asked):
    import dns.flags

    responder = ScriptedResponder(script)
    try:
        result = cli("--json", "nat64", "discover", "-n", f"127.0.0.1:{responder.port}", "--timeout", "1.5")
    finally:
        responder.close()
    assert (result.exit_code, result.json["outcome"]) == (exit_code, outcome)
    assert len(responder.queries) == asked
    query = responder.queries[0]
    assert query.question[0].rdtype == 28  # AAAA, never ANY
    assert query.flags & dns.flags.RD and not query.flags & dns.flags.CD
    assert query.edns < 0 or not query.ednsflags & dns.flags.DO  # no DNSSEC OK bit for ipv4only.arpa
