"""Tunnel diagnosis on captured `ip -j -d link` output (a persistent tun device with and
without a program holding it) and made-up process lists."""

from pathlib import Path

from travelsync.preflight import routes, tunnels
from travelsync.preflight.model import FAIL, OK, SKIP
from travelsync.preflight.netinfo import Process

DATA = Path(__file__).parent / "data" / "ip"
TUN_ADDRESSES = routes.parse_addresses((DATA / "tun_down.addr.json").read_text())
TUN_ROUTES = routes.parse_routes((DATA / "tun_down.route.json").read_text())
NO_NATIVE = (False, "no usable global IPv6 address outside the tunnel")


def links(name):
    return tunnels.parse_links((DATA / name).read_text())


def diagnose(link_file, *, processes=(), native=NO_NATIVE, start="gogoc -n -s wlan0", kind="gogoc",
             interface="tun0", addresses=TUN_ADDRESSES, route_list=TUN_ROUTES):
    return tunnels.diagnose_tunnel(kind=kind, interface=interface, start=start, links=links(link_file),
                                   addresses=addresses, routes=route_list, processes=processes, native=native)


def test_parse_links_kind_and_carrier():
    up = {l.name: l for l in links("tun_up.link.json")}
    down = {l.name: l for l in links("tun_down.link.json")}
    assert up["tun0"].kind == "tun" and up["tun0"].up and up["tun0"].carrier
    assert down["tun0"].up and not down["tun0"].carrier
    assert down["tun0"].state() == "up but without carrier (no program holds it)"
    veth = {l.name: l for l in links("rig_client.link.json")}["eth0"]
    assert veth.kind == "veth" and veth.carrier
    assert tunnels.tunnel_interfaces(links("rig_client.link.json")) == ()
    assert tunnels.tunnel_interfaces(links("tun_up.link.json"), "wg0") == ("tun0", "wg0")


def test_tunnel_up_with_address_and_route_is_ok():
    result = diagnose("tun_up.link.json")
    assert result.status == OK
    assert result.summary == "tunnel tun0 (tun) is up with 2001:db8:77::2"
    assert not result.fix


def test_tunnel_without_carrier_fails_and_offers_the_start_command():
    result = diagnose("tun_down.link.json")
    assert result.status == FAIL
    assert result.summary == "tunnel interface tun0 is up but without carrier (no program holds it)"
    assert result.fix == ("gogoc -n -s wlan0",)


def test_missing_interface_with_a_running_client_is_stuck():
    gogoc = Process(4242, "gogoc", ("/usr/sbin/gogoc", "-f", "/etc/gogoc.conf"))
    result = diagnose("rig_client.link.json", processes=[gogoc, Process(1, "init")])
    assert result.status == FAIL
    assert result.summary == "stuck: gogoc (pid 4242) is running but tunnel interface tun0 does not exist"
    assert result.fix == ("kill 4242", "gogoc -n -s wlan0")
    assert result.stuck_pids == (4242,)


def test_client_found_by_argv_when_comm_differs():
    renamed = Process(77, "gw6c-wrapper", ("/opt/gogoc/bin/gogoc", "-n"))
    assert tunnels.running_clients("gogoc", [renamed]) == (renamed,)
    assert tunnels.running_clients("6in4", [renamed]) == ()


def test_native_ipv6_makes_the_tunnel_not_needed():
    result = diagnose("tun_down.link.json", native=(True, "native IPv6: 2001:db8:64::5 on eth0"))
    assert result.status == OK and result.summary == "not needed: native IPv6 works"
    assert result.details == ("native IPv6: 2001:db8:64::5 on eth0",)


def test_up_without_address_or_route_fails():
    no_address = diagnose("tun_up.link.json", addresses=())
    assert no_address.status == FAIL and "no usable global IPv6 address" in no_address.summary
    no_route = diagnose("tun_up.link.json", route_list=tuple(r for r in TUN_ROUTES if not r.is_default))
    assert no_route.status == FAIL and "no IPv6 default route uses it" in no_route.summary


def test_not_configured_is_skipped():
    result = tunnels.diagnose_tunnel(kind=None, interface=None, start=None, links=(), addresses=(), routes=(),
                                     processes=(), native=NO_NATIVE)
    assert result.status == SKIP


def test_default_start_commands_per_kind():
    assert tunnels.start_command("gogoc", "tun", None, None, "wlan0") == "gogoc -n -s wlan0"
    assert tunnels.start_command("gogoc", "tun", None, None, None) is None
    assert tunnels.start_command("wireguard", "wg0", None, None, None) == "wg-quick up wg0"
    down_sit = tunnels.Link("he-ipv6", "sit", up=False, carrier=False)
    assert tunnels.start_command("6in4", "he-ipv6", None, down_sit, None) == "ip link set he-ipv6 up"
    missing = diagnose("rig_client.link.json", start=None, kind="6in4", interface="he-ipv6")
    assert missing.fix == () and "set preflight.tunnel.start" in missing.details[-1]
