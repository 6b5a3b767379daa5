"""The preflight runner with fake checks: concurrency, per-check timeouts, failures kept
apart, modules found by name, and the CLI's exit codes and JSON shape."""

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from travelsync.config.model import Ipv6Check, Preflight, TunnelCheck
from travelsync.errors import TravelsyncError, UsageError
from travelsync.preflight import runner
from travelsync.preflight.checks import CheckContext, ipv6, tunnel
from travelsync.preflight.model import FAIL, OK, SKIP, WARN, CheckResult
from travelsync.process import Completed, ProgramMissing

DATA = Path(__file__).parent / "data" / "ip"


THREE = "ipv6,tunnel,nat64"  # the checks these tests fake (portal and mail have tests of their own)


def config(timeout):
    return SimpleNamespace(preflight=SimpleNamespace(timeout=timeout))


def fake(name, seconds=0.0, status=OK, raises=None):
    def run(config, context):
        time.sleep(seconds)
        if raises is not None:
            raise raises
        return CheckResult(name, status, f"{name} slept {seconds}", fix=("echo fix",) if status == WARN else ())
    return SimpleNamespace(NAME=name, run=run)


def test_checks_run_concurrently_total_is_the_slowest():
    checks = {"ipv6": fake("ipv6", 0.6), "tunnel": fake("tunnel", 0.6), "nat64": fake("nat64", 0.6)}
    started = time.monotonic()
    results = runner.run_checks(config(5), only=THREE, checks=checks)
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == [OK, OK, OK]
    assert 0.6 <= elapsed < 1.0, elapsed


def test_a_check_that_overruns_fails_alone_within_the_timeout():
    checks = {"ipv6": fake("ipv6", 30), "tunnel": fake("tunnel", 0.1, WARN), "nat64": fake("nat64", 0)}
    started = time.monotonic()
    results = runner.run_checks(config(0.5), only=THREE, checks=checks)
    elapsed = time.monotonic() - started
    assert elapsed < 0.9, elapsed
    assert results[0].status == FAIL and results[0].summary == "did not finish within 0.5 s (preflight.timeout)"
    assert [r.status for r in results[1:]] == [WARN, OK]


def test_errors_become_failed_results_and_do_not_hide_others():
    checks = {"ipv6": fake("ipv6", raises=TravelsyncError("ip: broken", hint="reinstall iproute2")),
              "tunnel": fake("tunnel", raises=KeyError("boom")), "nat64": fake("nat64")}
    results = runner.run_checks(config(2), only=THREE, checks=checks)
    assert (results[0].status, results[0].summary, results[0].details) == (FAIL, "ip: broken", ("reinstall iproute2",))
    assert results[1].status == FAIL and results[1].summary == "internal error: KeyError: 'boom'"
    assert results[2].status == OK


def test_only_keeps_the_order_asked_for_and_rejects_unknown_names():
    checks = {"ipv6": fake("ipv6"), "tunnel": fake("tunnel"), "nat64": fake("nat64")}
    assert [r.name for r in runner.run_checks(config(2), only="tunnel,ipv6", checks=checks)] == ["tunnel", "ipv6"]
    assert runner.parse_only(["nat64", "nat64"]) == ("nat64",)
    with pytest.raises(UsageError, match="unknown check dns"):
        runner.parse_only("ipv6,dns")


def test_a_missing_check_module_is_skipped_as_not_available(monkeypatch):
    monkeypatch.setattr(runner, "load_check", lambda name: None if name == "nat64" else fake(name))
    results = runner.run_checks(config(2))
    assert [(r.name, r.status) for r in results] == [("portal", OK), ("ipv6", OK), ("tunnel", OK), ("nat64", SKIP),
                                                     ("mail", OK)]
    assert results[3].summary == "not available in this version"


def test_check_modules_are_found_by_name():
    assert runner.load_check("ipv6").NAME == "ipv6"
    assert runner.load_check("tunnel").NAME == "tunnel"
    assert runner.load_check("no_such_check") is None


def test_context_gives_the_remaining_time():
    seen = {}

    def run(config, context):
        seen["remaining"] = context.remaining()
        seen["environ"] = context.environ
        return CheckResult("ipv6", OK, "fine")

    runner.run_checks(config(3), only="ipv6", environ={"X": "1"}, checks={"ipv6": SimpleNamespace(run=run)})
    assert 2.5 < seen["remaining"] <= 3 and seen["environ"] == {"X": "1"}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "travelsync.yaml"
    path.write_text(f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {tmp_path}\n"
                    "preflight:\n  timeout: 2\n")
    return path


@pytest.mark.parametrize("statuses, code", [((OK, OK, SKIP, OK, SKIP), 0), ((OK, OK, WARN, SKIP, OK), 3),
                                           ((OK, WARN, FAIL, OK, OK), 1)])
def test_cli_exit_codes_and_json_shape(cli, config_file, monkeypatch, statuses, code):
    fakes = dict(zip(("portal", "ipv6", "tunnel", "nat64", "mail"), statuses))
    monkeypatch.setattr(runner, "load_check", lambda name: fake(name, status=fakes[name]))
    result = cli("--config", config_file, "--json", "preflight")
    assert result.exit_code == code, result.stderr
    checks = result.json["checks"]
    assert [(c["name"], c["status"]) for c in checks] == list(fakes.items())
    assert all(set(c) >= {"name", "status", "summary", "details", "fix"} for c in checks)


def test_cli_table_and_dry_run_fix(cli, config_file, monkeypatch):
    monkeypatch.setattr(runner, "load_check", lambda name: fake(name, status=WARN if name == "tunnel" else OK))
    table = cli("--config", config_file, "preflight", "--only", "tunnel")
    assert table.exit_code == 3
    assert "WARN  tunnel  tunnel slept 0.0" in table.stdout and "fix: echo fix" in table.stdout
    dry = cli("--config", config_file, "--json", "preflight", "--only", "tunnel", "--fix", "--dry-run")
    assert dry.json["fixes"] == [{"check": "tunnel", "commands": ["echo fix"], "outcome": "dry-run"}]
    assert "would run: echo fix" in dry.stderr


def test_cli_usage_errors(cli, config_file):
    assert cli("--config", config_file, "preflight", "--only", "dns").exit_code == 2
    assert cli("--config", config_file, "preflight", "--fix", "--undo-fix").exit_code == 2
    assert cli("--config", config_file, "preflight", "--yes").exit_code == 2
    nothing = cli("--config", config_file, "preflight", "--undo-fix")
    assert nothing.exit_code == 2 and "no route fix to undo" in nothing.stderr


# -- the real ipv6 and tunnel checks, fed captured `ip -j` output by a recording runner -------



def recording_runner(capture, answering=()):
    calls = []

    def run(argv, *, input=None, timeout=None, env=None):
        calls.append(list(argv))
        if argv[0] == "ping":
            return Completed(tuple(argv), 0 if any(g in argv[-1] for g in answering) else 1, b"", b"")
        family = "addr" if "addr" in argv else "route"
        if argv[1:3] == ["-j", "-d"]:
            return Completed(tuple(argv), 0, (DATA / "rig_client.link.json").read_bytes(), b"")
        if argv[2] == "-4":
            return Completed(tuple(argv), 0, b"[]", b"")
        path = DATA / f"{capture}.{family}.json"
        if not path.exists():
            path = DATA / f"three_ra_routes.{family}.json"
        return Completed(tuple(argv), 0, path.read_bytes(), b"")

    run.calls = calls
    return run


def preflight_config(**ipv6_settings):
    return SimpleNamespace(preflight=Preflight(ipv6=Ipv6Check(**ipv6_settings),
                                               tunnel=TunnelCheck(kind="gogoc", interface="tun"), timeout=5))


def test_ipv6_check_pings_every_gateway_and_plans_the_fix():
    run = recording_runner("three_ra_routes", answering=("fe80::64:3",))
    result = ipv6.run(preflight_config(expiry_warning=5), CheckContext(runner=run, timeout=5))
    pings = sorted(c[-1] for c in run.calls if c[0] == "ping")
    assert pings == ["fe80::64:1%eth0", "fe80::64:2%eth0", "fe80::64:3%eth0"]
    assert result.status == WARN and result.data["findings"][0] == "several-ra-routes"
    assert "gateway-silent" in result.data["findings"]
    assert result.data["route_fix"]["gateway"] == "fe80::64:3"
    assert result.fix[-1] == "ip -6 route add default via fe80::64:3 dev eth0 metric 1024 proto static"


def test_ipv6_check_says_when_ip_is_missing():
    def run(argv, **kw):
        raise ProgramMissing("ip: not installed (or not on PATH)")

    result = ipv6.run(preflight_config(), CheckContext(runner=run, timeout=5))
    assert result.status == WARN
    assert result.summary == ("could not check: `ip` is not installed (Debian package iproute2): "
                              "routes and addresses cannot be read")


def test_ipv6_check_reports_an_ip_error_line():
    def run(argv, **kw):
        return Completed(tuple(argv), 255, b"", b"Error: ipv6 is disabled\n")

    result = ipv6.run(preflight_config(), CheckContext(runner=run, timeout=5))
    assert result.summary == "could not check: `ip -j -6 addr` failed: Error: ipv6 is disabled"


def test_tunnel_check_not_needed_with_native_routes():
    result = tunnel.run(preflight_config(), CheckContext(runner=recording_runner("one_ra_route"), timeout=5))
    assert result.status == OK and result.summary == "not needed: native IPv6 works"


def test_tunnel_check_without_native_ipv6_and_no_start_command():
    result = tunnel.run(preflight_config(), CheckContext(runner=recording_runner("problem_addresses"), timeout=5))
    assert result.status == FAIL and result.summary.endswith("tunnel interface tun does not exist")
    assert "set preflight.tunnel.start to let --fix start the tunnel" in result.details


def test_a_portal_is_named_in_the_failures_it_explains_and_the_checks_still_run_together():
    """Issue 22: a portal makes the tunnel and mail checks fail for no visible reason. The portal
    check is listed first and runs alongside the others (preflight takes the slowest check's time,
    design §8); their warnings and failures then name the portal."""
    def slow(name, status, data=None):
        def run(config, context):
            time.sleep(0.4)
            return CheckResult(name, status, name, data=data or {})
        return SimpleNamespace(NAME=name, run=run)

    checks = {"portal": slow("portal", WARN, {"portal_url": "http://portal.example/login"}),
              "tunnel": slow("tunnel", FAIL), "mail": slow("mail", WARN), "ipv6": slow("ipv6", OK)}
    started = time.monotonic()
    results = runner.run_checks(config(2), only="ipv6,tunnel,mail,portal", checks=checks)
    assert time.monotonic() - started < 0.75
    assert [r.name for r in results] == ["ipv6", "tunnel", "mail", "portal"]  # the order asked for is kept
    assert runner.parse_only(None)[0] == "portal"  # by default the portal comes first
    by_name = {r.name: r for r in results}
    for name in ("tunnel", "mail"):
        assert by_name[name].details[-1].startswith("a captive portal was found (http://portal.example/login)")
        assert by_name[name].data["captive_portal"] == "http://portal.example/login"
    assert by_name["ipv6"].details == () and "captive_portal" not in by_name["ipv6"].data  # ok: nothing to explain


def test_without_a_portal_the_others_are_left_as_they_are():
    checks = {"portal": fake("portal"), "tunnel": fake("tunnel", status=WARN)}
    portal, tunnel = runner.run_checks(config(2), only="portal,tunnel", checks=checks)
    assert tunnel.details == () and tunnel.data == {}
