"""`nat64 discover | synthesize | check` against real DNS64 servers (unbound, BIND) on loopback."""

import time

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
            prefix, _ = rfc6052.locate_well_known(rfc6052.IPv6Address(address))
            if str(prefix) not in first_seen:
                first_seen.append(str(prefix))
        assert data["prefixes"] == first_seen
        seen_orders.add(tuple(data["prefixes"]))
    assert seen_orders  # BIND shuffles: whichever order came, it was kept


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
