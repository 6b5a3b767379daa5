"""Route and address diagnosis on `ip -j` outputs captured from real network namespaces.

The files in tests/unit/data/ip/ were captured from the radvd rig (three routers, one client)
and from veth namespaces: healthy, three RA routes, expiring, expired (negative expires),
ULA-only, deprecated/tentative/dadfailed addresses without a default route.
"""

import json
from pathlib import Path

import pytest

from travelsync.preflight import fix, routes
from travelsync.preflight.model import FAIL, OK, WARN

DATA = Path(__file__).parent / "data" / "ip"


def load(name):
    addresses = routes.parse_addresses((DATA / f"{name}.addr.json").read_text()) \
        if (DATA / f"{name}.addr.json").exists() else routes.parse_addresses((DATA / "three_ra_routes.addr.json").read_text())
    return addresses, routes.parse_routes((DATA / f"{name}.route.json").read_text())


def diagnose(name, expiry_warning=5, answers=None):
    addresses, route_list = load(name)
    return routes.diagnose(addresses, route_list, expiry_warning=expiry_warning, gateway_answers=answers)


def test_parse_routes_reads_every_field_of_an_ra_default():
    _, route_list = load("three_ra_routes")
    defaults = [r for r in route_list if r.is_default]
    assert [r.gateway for r in defaults] == ["fe80::64:1", "fe80::64:2", "fe80::64:3"]
    assert {(r.interface, r.protocol, r.metric, r.pref) for r in defaults} == {("eth0", "ra", 1024, "medium")}
    assert all(r.from_ra and 0 < r.expires <= 15 and not r.expired for r in defaults)
    assert {r.metrics for r in defaults} == {(("hoplimit", 64),)}  # the advertisement's hop limit
    assert not [r for r in route_list if r.destination == "fe80::/64"][0].is_default


def test_parse_addresses_lifetimes_and_flags():
    addresses, _ = load("three_ra_routes")
    global_address = [a for a in addresses if a.scope == "global"][0]
    assert global_address.interface == "eth0" and global_address.address.startswith("2001:db8:64:")
    assert global_address.preferred_lifetime is not None and global_address.preferred_lifetime > 0
    loopback = [a for a in addresses if a.interface == "lo"][0]
    assert loopback.valid_lifetime is None  # 4294967295 = forever
    assert loopback.unusable_reason() == "scope host"


def test_one_healthy_ra_route_is_ok():
    result = diagnose("one_ra_route", answers={("fe80::64:1", "eth0"): True})
    assert result.status == OK, result.findings
    assert result.codes() == ["ok"]
    assert "fe80::64:1" in result.summary and "2001:db8:64:" in result.summary
    assert not result.fixable
    # it said "default default via …"
    assert result.summary == ("global address 2001:db8:64:0:b88d:32ff:fe97:54c5, "
                              "default via fe80::64:1 dev eth0 proto ra metric 1024 expires 12s")


def test_static_default_route_after_the_fix_is_ok():
    result = diagnose("static_default", answers={("fe80::64:2", "eth0"): True})
    assert result.status == OK and result.codes() == ["ok"]


def test_three_ra_routes_warn_and_are_fixable():
    result = diagnose("three_ra_routes")
    assert result.status == WARN
    assert result.codes() == ["several-ra-routes"]
    assert result.summary.startswith("3 default routes from router advertisements")
    assert all(f"fe80::64:{n}" in result.summary for n in (1, 2, 3))
    assert result.fixable


def test_expiring_routes_warn_below_the_threshold_only():
    assert "expiring" in diagnose("expiring", expiry_warning=10).codes()
    assert "expiring" not in diagnose("expiring", expiry_warning=2).codes()
    expiring = [f for f in diagnose("expiring", expiry_warning=10).findings if f.code == "expiring"]
    assert len(expiring) == 3 and all(f.severity == WARN and f.fixable for f in expiring)
    assert "expires in 5 s" in expiring[0].message or "expires in 4 s" in expiring[0].message


def test_negative_expires_is_expired_and_fails_when_no_route_is_left():
    result = diagnose("expired")
    expired = [f for f in result.findings if f.code == "expired"]
    assert len(expired) == 3
    assert result.status == FAIL
    assert "expired 3 s ago (negative expires)" in expired[0].message
    assert "Network is unreachable" in expired[0].message


def test_an_expired_route_next_to_a_live_one_only_warns():
    addresses, route_list = load("expired")
    live = routes.Route("default", "eth0", "fe80::64:9", "ra", 1024, 1500, "medium")
    result = routes.diagnose(addresses, route_list + (live,), expiry_warning=5)
    assert {f.severity for f in result.findings if f.code == "expired"} == {WARN}


def test_ula_only_fails_and_is_not_fixable():
    result = diagnose("ula_only")
    assert result.codes()[0] == "ula-only" and result.status == FAIL
    assert "fd00:1::5" in result.summary
    assert not result.fixable


def test_deprecated_tentative_dadfailed_and_no_default_route():
    result = diagnose("problem_addresses")
    assert result.status == FAIL
    assert result.codes() == ["no-usable-address", "no-default-route"]
    by_address = {a.address: a.unusable_reason() for a in result.unusable}
    assert by_address["2001:db8:6::1"].startswith("deprecated")
    assert by_address["2001:db8:5::1"].startswith("dadfailed")
    assert by_address["2001:db8:7::1"].startswith("tentative")
    assert by_address["fd12:3456::1"].startswith("unique-local")
    assert not result.usable


def test_teredo_and_documentation_addresses_are_usable():
    teredo = routes.Address("teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", 32, "global")
    documentation = routes.Address("eth0", "2001:db8::5", 64, "global")
    assert teredo.unusable_reason() is None and documentation.unusable_reason() is None


def test_silent_gateway_fails_alone_and_warns_next_to_an_answering_one():
    alone = diagnose("one_ra_route", answers={("fe80::64:1", "eth0"): False})
    assert alone.codes() == ["gateway-silent"] and alone.status == FAIL and not alone.fixable
    mixed = diagnose("three_ra_routes", answers={("fe80::64:1", "eth0"): False, ("fe80::64:2", "eth0"): True})
    silent = [f for f in mixed.findings if f.code == "gateway-silent"]
    assert [f.severity for f in silent] == [WARN] and silent[0].fixable


def test_interface_filter_ignores_other_interfaces():
    result = diagnose("three_ra_routes")
    addresses, route_list = load("three_ra_routes")
    other = routes.diagnose(addresses, route_list, expiry_warning=5, interface="wlan0")
    assert result.codes() == ["several-ra-routes"]
    assert other.codes() == ["no-address", "no-default-route"]


def test_native_ipv6_excludes_tunnel_interfaces():
    addresses, route_list = load("three_ra_routes")
    assert routes.native_ipv6(addresses, route_list)[0]
    works, why = routes.native_ipv6(addresses, route_list, exclude_interfaces=["eth0"])
    assert not works and "address" in why
    addresses, route_list = load("expired")
    works, why = routes.native_ipv6(addresses, route_list)
    assert not works and "default route" in why


def test_bad_json_names_the_command():
    with pytest.raises(routes.IpOutputError, match="ip -j -6 route"):
        routes.parse_routes("Usage: ip route")


# -- the route fix, planned from the same captures -----------------------------------------

def test_fix_pins_an_answering_router_and_removes_every_ra_default():
    _, route_list = load("three_ra_routes")
    defaults = [r for r in route_list if r.is_default]
    plan = fix.plan_route_fix(defaults, {("fe80::64:1", "eth0"): False, ("fe80::64:2", "eth0"): True,
                                         ("fe80::64:3", "eth0"): None})
    assert plan.gateway == "fe80::64:2" and plan.interface == "eth0"
    commands = [fix.show(c) for c in plan.commands()]
    assert commands[0] == "sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=0"
    assert commands[1:4] == [f"ip -6 route del default via fe80::64:{n} dev eth0 proto ra metric 1024" for n in (1, 2, 3)]
    assert commands[4] == "ip -6 route add default via fe80::64:2 dev eth0 metric 1024 proto static"
    assert fix.RouteFix.from_json(plan.as_json()) == plan


def test_fix_needs_a_router_that_answers():
    _, route_list = load("expired")
    defaults = [r for r in route_list if r.is_default]
    assert fix.plan_route_fix(defaults, {(r.gateway, r.interface): False for r in defaults}) is None


def test_fix_prefers_a_live_route_with_the_longest_lifetime():
    defaults = [routes.Route("default", "eth0", "fe80::1", "ra", 1024, -2), routes.Route("default", "eth0", "fe80::2", "ra", 1024, 30),
                routes.Route("default", "eth0", "fe80::3", "ra", 1024, 1700)]
    answers = {(r.gateway, "eth0"): True for r in defaults}
    assert fix.choose_router(defaults, answers).gateway == "fe80::3"


def test_fix_removes_ra_defaults_on_every_interface_and_pins_each():
    defaults = [routes.Route("default", "wlan0", "fe80::1", "ra", 1024, 1500),
                routes.Route("default", "eth0", "fe80::2", "ra", 1024, 1700),
                routes.Route("default", "eth0", "fe80::3", "static", 1024)]
    plan = fix.plan_route_fix(defaults, {("fe80::2", "eth0"): True})
    assert plan.interfaces == ("eth0", "wlan0")
    commands = [fix.show(c) for c in plan.commands()]
    assert commands[:2] == ["sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=0",
                            "sysctl -w net.ipv6.conf.wlan0.accept_ra_defrtr=0"]
    assert [c for c in commands if " del " in c] == [
        "ip -6 route del default via fe80::1 dev wlan0 proto ra metric 1024",
        "ip -6 route del default via fe80::2 dev eth0 proto ra metric 1024"]  # the static route stays
    record = {"interface": "eth0", "gateway": "fe80::2", "removed": plan.as_json()["remove"],
              "sysctls": [{"name": key, "previous": "1"} for key in plan.sysctls]}
    undo = [fix.show(c) for c in fix.plan_undo(record, [], 10)]
    assert [c for c in undo if c.startswith(("sysctl", "rdisc6"))] == [
        "sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=1", "sysctl -w net.ipv6.conf.wlan0.accept_ra_defrtr=1",
        "rdisc6 -1 -n -q -r 1 -w 1000 wlan0", "rdisc6 -1 -n -q -r 1 -w 1000 eth0"]


def test_sysctl_key_of_a_vlan_interface():
    assert fix.sysctl_key("eth0.100") == "net.ipv6.conf.eth0/100.accept_ra_defrtr"
    assert fix.sysctl_path("net.ipv6.conf.eth0/100.accept_ra_defrtr", "/proc").as_posix() == \
        "/proc/sys/net/ipv6/conf/eth0.100/accept_ra_defrtr"


def test_undo_deletes_the_static_route_restores_a_route_the_sysctl_and_solicits():
    _, before = load("three_ra_routes")
    defaults = [r for r in before if r.is_default]
    plan = fix.plan_route_fix(defaults, {("fe80::64:2", "eth0"): True})  # static_default pins 64:2
    record = {"interface": "eth0", "gateway": plan.gateway, "removed": plan.as_json()["remove"],
              "sysctls": [{"name": key, "previous": "1"} for key in plan.sysctls]}
    _, after = load("static_default")
    elapsed = 3
    commands = [fix.show(c) for c in fix.plan_undo(record, after, elapsed)]
    pinned = [r for r in defaults if r.gateway == "fe80::64:2"][0]
    assert commands == [
        "ip -6 route del default via fe80::64:2 dev eth0 proto static metric 1024",
        f"ip -6 route add default via fe80::64:2 dev eth0 metric 1024 proto ra expires {pinned.expires - elapsed} "
        "hoplimit 64 pref medium",
        "sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=1",
        "rdisc6 -1 -n -q -r 1 -w 1000 eth0"]
    # long after the fix the removed routes would have expired: none is re-created
    assert [c[0] for c in fix.plan_undo(record, after, 600)] == ["ip", "sysctl", "rdisc6"]
    # a route the routers re-created meanwhile is left alone
    assert [c[3] for c in fix.plan_undo(record, before, elapsed) if c[0] == "ip"] == []


def test_undo_re_creates_every_attribute_the_kernel_had():
    """The re-created route lacked the kernel's `hoplimit 64` (and later advertisements do not
    put it back): every attribute `ip -j -6 route` showed is recorded and given back."""
    captured = ('[{"dst":"default","gateway":"fe80::64:1","dev":"eth0","protocol":"ra","metric":1024,'
                '"flags":["onlink"],"expires":1500,"metrics":[{"mtu":1400,"hoplimit":255}],"pref":"high"},'
                '{"dst":"default","gateway":"fe80::64:2","dev":"eth0","protocol":"ra","metric":1024,'
                '"flags":[],"expires":1500,"metrics":[{"hoplimit":64}],"pref":"medium"}]')
    defaults = routes.parse_routes(captured)
    plan = fix.plan_route_fix(defaults, {("fe80::64:1", "eth0"): True})
    record = {"interface": "eth0", "gateway": plan.gateway, "removed": plan.as_json()["remove"], "sysctls": []}
    record = json.loads(json.dumps(record))  # as read back from preflight-fix.json
    assert fix.RouteFix.from_json(plan.as_json()) == plan
    (add,) = [c for c in fix.plan_undo(record, [], 100) if c[:4] == ["ip", "-6", "route", "add"]]
    assert fix.show(add) == ("ip -6 route add default via fe80::64:1 dev eth0 metric 1024 proto ra expires 1400 "
                             "mtu 1400 hoplimit 255 pref high onlink")
    # a record written before metrics were kept still undoes (without them)
    old = {**record, "removed": [{k: v for k, v in r.items() if k not in ("metrics", "flags")}
                                 for r in record["removed"]]}
    (add,) = [c for c in fix.plan_undo(old, [], 100) if c[:4] == ["ip", "-6", "route", "add"]]
    assert "hoplimit" not in add and add[-2:] == ["pref", "high"]


def test_route_attributes_spell_ip_j_metrics_as_ip_route_words():
    # captured from `ip -j -6 route` after `ip -6 route add 2001:db8::/64 dev lo mtu 1400 hoplimit 5
    # congctl reno initcwnd 10 quickack 1 features ecn`; these words re-create the same JSON
    (route,) = routes.parse_routes('[{"dst":"2001:db8::/64","dev":"lo","metric":1024,"flags":[],"metrics":[{'
                                   '"mtu":1400,"hoplimit":5,"initcwnd":10,"ecn":null,"quickack":1,'
                                   '"congestion":"reno"}],"pref":"medium"}]')
    assert fix.route_attributes({"metrics": dict(route.metrics), "pref": route.pref, "flags": list(route.flags)}) == [
        "mtu", "1400", "hoplimit", "5", "initcwnd", "10", "features", "ecn", "quickack", "1", "congctl", "reno",
        "pref", "medium"]


def test_undo_without_rdisc6_still_succeeds():
    calls = []

    def runner(argv, timeout=None):
        calls.append(argv[0])
        if argv[0] == "rdisc6":
            raise fix.ProgramMissing("rdisc6: not installed (or not on PATH)")
        from travelsync.process import Completed
        return Completed(tuple(argv), 0, b"", b"")

    said = []
    fix.run_commands([["sysctl", "-w", "x=1"], fix.SOLICIT + ["eth0"]], echo=said.append, runner=runner)
    assert calls == ["sysctl", "rdisc6"]
    assert "next advertisement" in said[-1]
