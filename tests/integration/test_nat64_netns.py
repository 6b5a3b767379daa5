"""End to end in network namespaces: discovery, validation and the connectivity check over a
real NAT64 (tayga), and PREF64 from router advertisements (--ra)."""

import json
import textwrap
import time

import pytest

from tests.fixtures.netns_nat64 import PREFIX, python_in, router_advertisement, travelsync_in

pytestmark = [pytest.mark.integration, pytest.mark.root]

PREFLIGHT = textwrap.dedent("""
    import json, types
    from travelsync.config.model import Nat64Check, Preflight
    from travelsync.preflight.checks import CheckContext, nat64
    config = types.SimpleNamespace(preflight=Preflight(nat64=Nat64Check(nameserver="::1", timeout=2.0)))
    print(json.dumps(nat64.run(config, CheckContext(timeout=15.0)).as_json()))
""")


def test_discover_validate_and_check_through_tayga(nat64_lab):
    done = travelsync_in(nat64_lab.v6host, "--json", "nat64", "discover", "-n", "::1", "--validate",
                         "--trusted-domain", "rig.example", "--check")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["outcome"], data["prefixes"], data["rejected"]) == ("found", [PREFIX], [])
    validation = data["validation"][0]
    assert (validation["status"], validation["fqdn"]) == ("valid", "nat64.rig.example.")
    assert validation["dnssec"].startswith("not validated")  # BIND here does not validate: said so
    check = data["connectivity"][0]
    assert (check["status"], check["server"], check["target"]) == ("ok", "192.0.2.33", "2001:db8:122:c000:2:2100::")


def test_list_with_check_prints_like_nat64disc(nat64_lab):
    done = travelsync_in(nat64_lab.v6host, "nat64", "discover", "-l", "--check", "-n", "[::1]:53")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Prefix: {PREFIX} (connectivity check: ok)\n"


def test_untrusted_domain_is_left_out(nat64_lab):
    done = travelsync_in(nat64_lab.v6host, "--json", "nat64", "discover", "-n", "::1", "--validate",
                         "--trusted-domain", "example.net")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["prefixes"] == []
    assert data["validation"][0]["status"] == "untrusted"


def test_preflight_check_on_ipv6_only_network(nat64_lab):
    done = python_in(nat64_lab.v6host, PREFLIGHT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok", result
    assert result["summary"] == f"NAT64 prefix {PREFIX} works"
    assert "native IPv4: no (IPv6-only network)" in result["details"]


def test_preflight_command_runs_the_nat64_check(nat64_lab, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent(f"""
        repository: {tmp_path}/repository
        sources:
          - name: home
            path: {tmp_path}/home
        preflight:
          nat64: {{nameserver: "::1", timeout: 2}}
    """))
    done = travelsync_in(nat64_lab.v6host, "--config", config, "--json", "preflight", "--only", "nat64")
    checks = json.loads(done.stdout)["checks"]
    assert [c["name"] for c in checks] == ["nat64"]
    assert checks[0]["summary"] == f"NAT64 prefix {PREFIX} works", done.stderr
    assert checks[0]["status"] == "ok"
    assert done.returncode == 0


def test_check_fails_once_tayga_is_stopped(nat64_lab):
    nat64_lab.stop_tayga()
    try:
        started = time.monotonic()
        done = travelsync_in(nat64_lab.v6host, "--json", "nat64", "discover", "-n", "::1", "--check")
        elapsed = time.monotonic() - started
        preflight = json.loads(python_in(nat64_lab.v6host, PREFLIGHT).stdout)
    finally:  # later tests (in any order) get a working NAT64 again
        nat64_lab.start_tayga()
        nat64_lab.wait_for_path()
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["outcome"] == "found"
    assert data["prefixes"] == []  # left out of the usable list, as nat64disc did
    assert data["rejected"][0]["prefix"] == PREFIX
    assert data["connectivity"][0]["status"] == "failed"
    assert f"{PREFIX} left out: connectivity check failed" in done.stderr
    assert 4.5 < elapsed < 9  # echo at 0, 1, 2 s, then 3 s of waiting
    assert preflight["status"] == "fail"
    assert "connectivity check failed" in preflight["summary"]


@pytest.mark.parametrize("prefix", ["2001:db8:122::/48", "64:ff9b::/96", "2001:db8::/32"])
def test_ra_pref64_is_decoded_and_preferred_over_dns(ra_lab, prefix):
    ra_lab.advertise(prefix, lifetime=1800)
    # -n points where nothing listens: the PREF64 answer must win without asking DNS (RFC 9872)
    done = travelsync_in(ra_lab.client, "--json", "nat64", "discover", "--ra", ra_lab.interface,
                         "-n", "127.0.0.1:9", "--timeout", "3")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["outcome"], data["source"], data["prefixes"], data["ttl"]) == ("found", "ra", [prefix], 1800)
    assert data["server"] == ra_lab.interface


def test_ra_without_pref64_falls_back_to_dns(ra_lab):
    ra_lab.advertise(None)
    done = travelsync_in(ra_lab.client, "--json", "nat64", "discover", "--ra", ra_lab.interface,
                         "-n", "127.0.0.1:9", "--timeout", "1")
    assert done.returncode == 75  # then DNS, where nothing answers
    data = json.loads(done.stdout)
    assert data["outcome"] == "no-answer"
    assert any("no PREF64 option on ra0 (routers heard: fe80::64:1)" in n for n in data["notes"])


def pref64_variant(length_code: int = 3, units: int = 2, lifetime: int = 1800) -> bytes:
    """An RA whose PREF64 option for 2001:db8:122::/48 has the given length code, length and lifetime."""
    import struct

    header = router_advertisement(None, 0)
    option = struct.pack("!BBH", 38, units, (lifetime // 8) << 3 | length_code) + bytes.fromhex("20010db80122") + bytes(6)
    return header + option + bytes(8 * (units - 2))


@pytest.mark.parametrize("payload, received", [
    (pref64_variant(lifetime=0), "2001:db8:122::/48 withdrawn (lifetime 0)"),
    (pref64_variant(length_code=7), "ignored: prefix length code 7 (RFC 8781 §4 defines 0-5)"),
    (pref64_variant(units=3), "2001:db8:122::/48 ignored: length 3 (RFC 8781 §4: must be 2)"),
], ids=["withdrawn", "length-code-7", "length-3"])
def test_ra_pref64_withdrawn_or_invalid_says_what_was_received(ra_lab, link_local_dns64, payload, received):
    """It said "no PREF64 option on ra0" as if the router had sent none."""
    ra_lab.advertise(None, payload=payload)
    for _ in range(3):  # a fresh lab's link may take a moment before the first RA is heard
        done = travelsync_in(ra_lab.client, "--json", "nat64", "discover", "--ra", ra_lab.interface,
                             "-n", link_local_dns64, "--timeout", "1")
        data = json.loads(done.stdout)
        if "no router advertisement heard" not in data["notes"][0]:
            break
    # not used: the DNS64 on the link was asked instead, and answered
    assert (done.returncode, data["source"], data["prefixes"]) == (0, "dns", [PREFIX]), done.stderr
    assert data["notes"][:2] == [f"PREF64 option from fe80::64:1 on ra0: {received}",
                                 "no usable PREF64 option on ra0 (routers heard: fe80::64:1); asked DNS instead"]
    if "withdrawn" in received:  # the same notes for a person (-v); once is enough
        human = travelsync_in(ra_lab.client, "-v", "nat64", "discover", "--ra", ra_lab.interface,
                              "-n", link_local_dns64, "--timeout", "1")
        assert f"PREF64 option from fe80::64:1 on ra0: {received}" in human.stderr


def test_link_local_nameserver_with_zone_id(ra_lab, link_local_dns64):
    done = travelsync_in(ra_lab.client, "--json", "nat64", "discover", "-n", link_local_dns64)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["prefixes"] == [PREFIX]


def test_link_local_nameserver_from_resolv_conf(ra_lab, link_local_dns64, tmp_path):
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text(f"nameserver {link_local_dns64}\n")
    done = python_in(ra_lab.client, textwrap.dedent(f"""
        from travelsync.nat64 import Settings, discover
        result = discover(Settings(resolv_conf={str(resolv_conf)!r}))
        print(result.outcome, result.server, *result.prefixes)
    """))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["found", f"[{link_local_dns64}]:53", PREFIX]

