"""`travelsync preflight` run with `ip netns exec` in namespaces built by tests/fixtures/netns_ra.py:
three real radvd routers, routes that expire after SIGKILL, the route fix and its undo, a
tunnel stood for by a tun device, and a probe that never answers."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.fixtures.netns_ra import ROUTER_LIFETIME, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.root]

IPV6_CONFIG = "preflight:\n  ipv6: {{expiry_warning: {warning}, timeout: 2}}\n  timeout: 8\n"


def ipv6_result(host, config):
    result = host.travelsync("--config", config, "--json", "preflight", "--only", "ipv6")
    assert result.exit_code in (0, 1, 3), result.stderr
    (check,) = result.json["checks"]
    return result.exit_code, check


def test_three_ra_routes_are_reported(ra_network):
    config = ra_network.config(IPV6_CONFIG.format(warning=5))
    code, check = ipv6_result(ra_network, config)
    assert code == 3 and check["status"] == "warn"
    assert check["data"]["findings"] == ["several-ra-routes"]
    assert check["summary"].startswith("3 default routes from router advertisements")
    assert check["data"]["gateways"] == {f"fe80::64:{n}%eth0": True for n in (1, 2, 3)}
    assert check["fix"][0] == "sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=0"
    human = ra_network.travelsync("--config", config, "preflight", "--only", "ipv6")
    assert human.exit_code == 3 and "WARN  ipv6" in human.stdout and "fix: ip -6 route add default via" in human.stdout


def test_killed_routers_expire_then_show_negative_expires(ra_network):
    config = ra_network.config(IPV6_CONFIG.format(warning=6))
    ra_network.kill_routers(signal.SIGKILL)  # no goodbye advertisement: routes count down
    killed = time.monotonic()
    subprocess.run(["ip", "-n", ra_network.routers[0], "link", "set", "r1-eth0", "down"], check=True)  # router 1 silent

    def finding(code):
        def seen():
            _, check = ipv6_result(ra_network, config)
            return check if code in check["data"]["findings"] else None
        return seen

    expiring = wait_for(finding("expiring"), timeout=ROUTER_LIFETIME + 5, interval=0.2, what="the expiry warning")
    assert expiring["status"] == "warn"
    assert any("expires in" in line and "warning below 6 s" in line for line in [expiring["summary"], *expiring["details"]])
    assert expiring["data"]["gateways"] == {"fe80::64:1%eth0": False, "fe80::64:2%eth0": True,
                                            "fe80::64:3%eth0": True}
    assert "gateway-silent" in expiring["data"]["findings"]
    # The three routes expire a few seconds apart: while one is expired and another still counts
    # down, "expired" is a warning; once no live default route is left, it is a failure.
    first = wait_for(finding("expired"), timeout=ROUTER_LIFETIME + 10, interval=0.2, what="negative expires")
    assert first["status"] in ("warn", "fail")

    def all_expired():
        _, check = ipv6_result(ra_network, config)
        return check if "expired" in check["data"]["findings"] and check["status"] == "fail" else None

    expired = wait_for(all_expired, timeout=ROUTER_LIFETIME + 10, interval=0.2, what="every route expired")
    assert "(negative expires)" in expired["summary"]
    # radvd is gone but routers 2 and 3 still answer ping: the fix pins one of them
    assert expired["data"]["route_fix"]["gateway"] in ("fe80::64:2", "fe80::64:3")
    assert time.monotonic() - killed < ROUTER_LIFETIME + 12


def test_fix_pins_one_router_and_undo_restores(ra_network):
    config = ra_network.config(IPV6_CONFIG.format(warning=5))
    key = "net.ipv6.conf.eth0.accept_ra_defrtr"
    dry = ra_network.travelsync("--config", config, "preflight", "--only", "ipv6", "--fix", "--dry-run")
    assert dry.exit_code == 3 and "would run: sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=0" in dry.stderr
    assert len(ra_network.default_routes()) == 3 and ra_network.sysctl(key) == "1"
    before = routes_without_expiry(ra_network)
    assert all(r["metrics"] == [{"hoplimit": 64}] for r in before)  # the advertisement's hop limit

    fixed = ra_network.travelsync("--config", config, "--json", "preflight", "--only", "ipv6", "--fix", "--yes")
    assert fixed.exit_code == 0, fixed.stderr
    assert [line for line in fixed.stderr.splitlines() if line.startswith("+ ")][:2] == [
        "+ sysctl -w net.ipv6.conf.eth0.accept_ra_defrtr=0",
        "+ ip -6 route del default via fe80::64:1 dev eth0 proto ra metric 1024"]
    assert fixed.json["fixes"][0]["outcome"] == "applied"
    record = Path(os.environ["XDG_STATE_HOME"]) / "travelsync" / "preflight-fix.json"
    assert json.loads(record.read_text())["sysctls"] == [{"name": key, "previous": "1"}]
    assert fixed.json["checks"][0]["status"] == "ok"
    assert re.fullmatch(r"global address \S+, default via fe80::64:\d dev eth0 proto static metric 1024",
                        fixed.json["checks"][0]["summary"])  # it said "default default via"

    def one_static():
        routes = ra_network.default_routes()
        assert len(routes) == 1, routes
        assert routes[0]["protocol"] == "static" and routes[0]["gateway"] in {f"fe80::64:{n}" for n in (1, 2, 3)}
        return routes[0]

    pinned = one_static()
    assert ra_network.sysctl(key) == "0"
    time.sleep(4.5)  # longer than MaxRtrAdvInterval: the routers advertised again, nothing came back
    assert one_static() == pinned
    ping = ra_network.exec("ping", "-6", "-n", "-c1", "-W2", "2001:db8:99::1", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr  # only reachable through the default route

    again = ra_network.travelsync("--config", config, "preflight", "--only", "ipv6", "--fix", "--yes")
    assert "nothing to fix" in again.stderr and again.exit_code == 0

    undone = ra_network.travelsync("--config", config, "--json", "preflight", "--undo-fix", "--yes")
    assert undone.exit_code == 0, undone.stderr
    assert undone.json["undo"]["applied"] is True
    assert ra_network.sysctl(key) == "1"
    assert [r["protocol"] for r in ra_network.default_routes()] == ["ra"] * len(ra_network.default_routes())
    # the solicitation makes every router advertise again: the kernel re-learns all three
    routes = wait_for(lambda: (lambda found: found if len(found) == 3 else None)(ra_network.default_routes()),
                      timeout=5, interval=0.2, what="the three RA routes back")
    assert sorted(r["gateway"] for r in routes) == [f"fe80::64:{n}" for n in (1, 2, 3)], undone.stderr
    assert {r["protocol"] for r in routes} == {"ra"} and all(r["expires"] > 4 for r in routes)
    # exactly what was there: every attribute (hoplimit 64 was missing on the re-created route),
    # also once each router has advertised again (lifetime refreshed past what undo left)
    assert routes_without_expiry(ra_network) == before, undone.stderr
    wait_for(lambda: all(r["expires"] > ROUTER_LIFETIME - 3 for r in ra_network.default_routes()),
             timeout=ROUTER_LIFETIME, interval=0.2, what="an advertisement from every router after the undo")
    assert routes_without_expiry(ra_network) == before
    assert not record.exists()
    assert ra_network.travelsync("--config", config, "preflight", "--undo-fix", "--yes").exit_code == 2


def routes_without_expiry(host) -> list:
    """The default routes with every attribute `ip -d` shows but the running lifetime, by gateway."""
    shown = host.ip_json("-d", "-6", "route", "show", "default")
    return sorted(({k: v for k, v in r.items() if k != "expires"} for r in shown), key=lambda r: r["gateway"])


def test_probe_that_never_answers_returns_within_its_timeout(ra_network):
    config = ra_network.config("preflight:\n  ipv6: {probe: '[2001:db8:dead::1]:993', expiry_warning: 5, timeout: 2}\n"
                               "  timeout: 6\n")
    started = time.monotonic()
    result = ra_network.travelsync("--config", config, "--json", "preflight", "--only", "ipv6,tunnel")
    elapsed = time.monotonic() - started
    (ipv6, tunnel) = result.json["checks"]
    assert result.exit_code == 1
    assert ipv6["status"] == "fail" and ipv6["summary"].startswith("probe [2001:db8:dead::1]:993 not reachable")
    assert ipv6["summary"].endswith("no answer within 2 s") and "several-ra-routes" in ipv6["data"]["findings"]
    assert tunnel["status"] == "skip"
    assert elapsed < 2 + 1.5, elapsed

    config = ra_network.config("preflight:\n  ipv6: {probe: '[2001:db8:dead::1]:993', timeout: 60}\n  timeout: 2\n")
    started = time.monotonic()
    result = ra_network.travelsync("--config", config, "--json", "preflight")
    elapsed = time.monotonic() - started
    ipv6 = result.json["checks"][0]
    assert ipv6["status"] == "fail" and result.exit_code == 1
    # the check cuts its probe short to report before the runner's limit; else the runner cuts it
    assert (ipv6["summary"] == "did not finish within 2 s (preflight.timeout)"
            or re.search(r"no answer within 1\.[0-9]+ s", ipv6["summary"])), ipv6
    assert elapsed < 2 + 1.5, elapsed


def test_probe_that_answers(ra_network):
    listener = subprocess.Popen(["ip", "netns", "exec", ra_network.name, "python3", "-c",
                                 "import socket,time; s=socket.socket(socket.AF_INET6); s.bind(('::1', 18993)); "
                                 "s.listen(); print('ready', flush=True); time.sleep(30)"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"
        config = ra_network.config("preflight:\n  ipv6: {probe: '[::1]:18993', expiry_warning: 5, timeout: 2}\n")
        _, check = ipv6_result(ra_network, config)
        assert check["data"]["probe"]["ok"] is True and any(d.startswith("probe: [::1]:18993 answered")
                                                            for d in check["details"])
    finally:
        listener.kill()
        listener.wait()


TUNNEL_CONFIG = "preflight:\n  tunnel: {{kind: {kind}, interface: tun0, start: '{start}'}}\n  timeout: 8\n"


def tunnel_result(host, config):
    result = host.travelsync("--config", config, "--json", "preflight", "--only", "tunnel")
    (check,) = result.json["checks"]
    return result.exit_code, check


def test_tunnel_up_ok_down_fails_with_start_command(tun_namespace):
    start = tun_namespace.client_command()
    config = tun_namespace.config(TUNNEL_CONFIG.format(kind="tun", start=start))
    tun_namespace.hold()
    code, check = tunnel_result(tun_namespace, config)
    assert code == 0 and check["status"] == "ok", check
    assert check["summary"] == "tunnel tun0 (tun) is up with 2001:db8:77::2"

    tun_namespace.exec("ip", "link", "set", "tun0", "down")
    code, check = tunnel_result(tun_namespace, config)
    assert code == 1 and check["summary"] == "tunnel interface tun0 is down"
    assert check["fix"] == [start]
    tun_namespace.release()
    tun_namespace.exec("ip", "link", "set", "tun0", "up")
    code, check = tunnel_result(tun_namespace, config)
    assert check["summary"] == "tunnel interface tun0 is up but without carrier (no program holds it)"


def test_stuck_client_is_killed_and_the_start_command_brings_the_tunnel_up(tun_namespace, tmp_path):
    tun_namespace.exec("ip", "tuntap", "del", "dev", "tun0", "mode", "tun")
    fake_gogoc = tmp_path / "gogoc"
    shutil.copy(shutil.which("sleep"), fake_gogoc)
    stuck = subprocess.Popen([str(fake_gogoc), "120"])
    tun_namespace.spaces.processes.append(stuck)
    start = tun_namespace.client_command()
    config = tun_namespace.config(TUNNEL_CONFIG.format(kind="gogoc", start=start))
    code, check = tunnel_result(tun_namespace, config)
    assert code == 1
    assert check["summary"] == f"stuck: gogoc (pid {stuck.pid}) is running but tunnel interface tun0 does not exist"
    assert check["fix"] == [f"kill {stuck.pid}", start]

    fixed = tun_namespace.travelsync("--config", config, "--json", "preflight", "--only", "tunnel", "--fix", "--yes")
    assert f"+ kill {stuck.pid}" in fixed.stderr and f"+ {start}" in fixed.stderr
    assert stuck.wait(5) == -signal.SIGTERM
    wait_for(lambda: tunnel_result(tun_namespace, config)[1]["status"] == "ok", timeout=10, what="the tunnel up")


def test_tunnel_not_needed_with_native_ipv6(ra_network):
    ra_network.exec("ip", "tuntap", "add", "dev", "tun0", "mode", "tun")
    config = ra_network.config(TUNNEL_CONFIG.format(kind="gogoc", start="gogoc -n -s eth0"))
    code, check = tunnel_result(ra_network, config)
    assert code == 0 and check["status"] == "ok"
    assert check["summary"] == "not needed: native IPv6 works"
    assert check["fix"] == []


def test_no_ipv6_in_the_namespace_is_reported_clearly(tun_namespace):
    tun_namespace.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    config = tun_namespace.config("preflight:\n  timeout: 5\n")
    result = tun_namespace.travelsync("--config", config, "--json", "preflight", "--only", "ipv6")
    check = result.json["checks"][0]
    assert result.exit_code == 1 and check["summary"] == "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6=1)"
    assert json.dumps(check)  # one JSON document


def test_not_root_checks_what_it_can_and_says_what_needs_root(ra_network):
    need_programs("setpriv")
    folder = Path(tempfile.mkdtemp(prefix="ts-nonroot-"))
    try:
        folder.chmod(0o755)
        config = folder / "travelsync.yaml"
        config.write_text(ra_network.config(IPV6_CONFIG.format(warning=5)).read_text())
        config.chmod(0o644)
        env = {"XDG_STATE_HOME": str(folder / "state"), "HOME": str(folder)}
        result = ra_network.travelsync("--config", config, "--json", "preflight", "--only", "ipv6", uid=65534, env=env)
        assert result.exit_code == 3, result.stderr
        check = result.json["checks"][0]
        assert check["data"]["findings"][0] == "several-ra-routes"
        assert "changing routes needs root: run `sudo travelsync preflight --fix`" in check["details"]
        fixing = ra_network.travelsync("--config", config, "--json", "preflight", "--only", "ipv6", "--fix", "--yes",
                                       uid=65534, env=env)
        assert fixing.exit_code == 1
        assert fixing.json["fixes"][0]["outcome"] == "failed"
        assert fixing.json["fixes"][0]["error"].startswith("changing routes needs root")
        assert len(ra_network.default_routes()) == 3
    finally:
        shutil.rmtree(folder)
