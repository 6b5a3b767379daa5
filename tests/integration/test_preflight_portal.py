"""`travelsync preflight --only portal` in a namespace whose only web is local test servers
(tests/fixtures/netns_servers.py): a portal that redirects, one that answers with its own page,
an RFC 8908 API (configured, and announced as systemd-networkd exposes it), an open network,
and a probe that gets no answer. Issue 22."""

import json
import time

import pytest

from tests.conftest import need_programs, need_root
from tests.fixtures.netns_ra import Namespaces
from tests.fixtures.netns_servers import remove_etc, serving_namespace, throwaway_ca

pytestmark = [pytest.mark.integration, pytest.mark.root]

PORTAL = "http://portal.hotel.example/login?continue=detect"
USER_PORTAL = "https://portal.hotel.example/welcome"
API = json.dumps({"captive": True, "user-portal-url": USER_PORTAL, "seconds-remaining": 0})
LISTENERS = [
    {"port": 8001, "mode": "http", "status": 302, "headers": {"Location": PORTAL}},
    {"port": 8002, "mode": "http", "status": 200, "body": "success\n", "headers": {"Content-Type": "text/plain"}},
    {"port": 8003, "mode": "http", "status": 204},
    {"port": 8004, "mode": "http", "status": 200, "body": API, "headers": {"Content-Type": "application/captive+json"}},
    {"port": 8005, "mode": "http", "status": 200, "headers": {"Content-Type": "text/html"},
     "body": '<html><head><meta http-equiv="refresh" content="0; url=/splash?id=7"></head></html>'},
    {"port": 8006, "mode": "http", "status": 200, "headers": {"Content-Type": "application/captive+json"},
     "body": json.dumps({"captive": False, "seconds-remaining": 3600})},
    {"port": 8007, "mode": "garbage", "body": "\x1b]0;owned\x07 not HTTP\r\n"},
    {"port": 8009, "mode": "silent"},
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    need_root()
    need_programs("ip", "openssl")
    folder = tmp_path_factory.mktemp("portal")
    certificates = throwaway_ca(folder, ["portal.test"])
    https = {"mode": "https", "cert": str(certificates.valid[0]), "key": str(certificates.valid[1]), "status": 200,
             "body": API, "headers": {"Content-Type": "application/captive+json"}}
    namespaces = Namespaces()
    try:
        rig = serving_namespace(folder, LISTENERS + [{"port": 8443, **https}], {"portal.test": ["127.0.0.1"],
                                                                               "other.test": ["127.0.0.1"]}, namespaces)
        rig.ca = certificates.ca
        yield rig
    finally:
        namespaces.teardown()
        remove_etc(namespaces)


def portal(web, settings: str, *args, env=None):
    timeout = "" if "timeout:" in settings else "timeout: 2, "
    config = web.config(f"preflight:\n  portal: {{announced: false, {timeout}{settings}}}\n")
    result = web.travelsync("--config", config, "--json", "preflight", "--only", "portal", *args, env=env)
    assert result.exit_code in (0, 3), result.stderr
    (check,) = result.json["checks"]
    return result.exit_code, check


def test_a_redirect_is_a_portal_named_by_its_location_and_not_followed(web):
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8001/success.txt'")
    assert (code, check["status"]) == (3, "warn")
    assert check["summary"] == f"captive portal: sign in at {PORTAL}"
    assert check["data"]["findings"] == ["portal"] and check["data"]["portal_url"] == PORTAL
    assert check["data"]["probe"]["status"] == 302
    assert f"redirected (302) to {PORTAL} (not followed)" in check["details"][0]
    human = web.travelsync("--config", web.config("preflight:\n  portal: {announced: false, probe_url: "
                                                  "'http://127.0.0.1:8001/x'}\n"), "preflight", "--only", "portal")
    assert human.exit_code == 3 and f"WARN  portal  captive portal: sign in at {PORTAL}" in human.stdout


def test_a_page_instead_of_the_expected_body_is_a_portal_named_by_its_meta_refresh(web):
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8005/success.txt'")
    assert check["status"] == "warn" and check["data"]["portal_url"] == "http://127.0.0.1:8005/splash?id=7"


def test_the_rfc8908_api_names_the_user_portal_url(web):
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8003/generate_204', expect_body: null, "
                              "api_url: 'http://127.0.0.1:8004/captive'")
    assert (code, check["status"]) == (3, "warn")
    assert check["summary"] == f"captive portal: sign in at {USER_PORTAL}"
    assert check["data"]["findings"] == ["api-captive", "open"]  # the probe alone would have said open
    assert check["data"]["apis"][0]["state"]["captive"] is True
    assert any("plain HTTP (RFC 8908 asks for HTTPS)" in line for line in check["details"])


def test_an_api_over_https_is_trusted_only_with_a_valid_certificate_for_its_name(web):
    """RFC 8908 §4.1: the API is reached over HTTPS with the certificate checked (here against
    the throwaway CA, through OpenSSL's SSL_CERT_FILE, as the system's store would be)."""
    trusted = {"SSL_CERT_FILE": str(web.ca)}
    settings = "probe_url: null, api_url: 'https://portal.test:8443/captive'"
    code, check = portal(web, settings, env=trusted)
    assert (code, check["data"]["portal_url"]) == (3, USER_PORTAL)
    assert not any("plain HTTP" in line for line in check["details"])
    code, check = portal(web, settings.replace("portal.test", "other.test"), env=trusted)
    assert check["data"]["findings"] == ["api-invalid"] and "portal_url" not in check["data"]
    assert "TLS certificate not accepted: Hostname mismatch" in check["data"]["apis"][0]["error"]
    code, check = portal(web, settings)  # the system's CAs do not know the throwaway one
    assert check["data"]["findings"] == ["api-invalid"]
    assert "TLS certificate not accepted: unable to get local issuer certificate" in check["data"]["apis"][0]["error"]


def test_an_api_announced_through_systemd_networkd_is_asked(web, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    (links / "2").write_text("ADMIN_STATE=configured\nCAPTIVE_PORTAL=http://127.0.0.1:8004/captive\n")
    code = f"""
import json, types
from travelsync.config.model import PortalCheck, Preflight
from travelsync.preflight.checks import CheckContext, portal
config = types.SimpleNamespace(preflight=Preflight(portal=PortalCheck(probe_url=None, timeout=2)))
print(json.dumps(portal.run(config, CheckContext(timeout=5), networkd_links={str(links)!r}).as_json()))
"""
    done = web.python(code)
    check = json.loads(done.stdout)
    assert check["status"] == "warn" and check["data"]["portal_url"] == USER_PORTAL, done.stderr
    assert check["data"]["apis"][0]["source"] == f"systemd-networkd ({links / '2'})"


def test_an_open_network_is_ok(web):
    assert portal(web, "probe_url: 'http://127.0.0.1:8003/generate_204', expect_body: null")[1]["status"] == "ok"
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8002/success.txt', api_url: 'http://127.0.0.1:8006/api'")
    assert (code, check["status"], check["summary"]) == (0, "ok", "no captive portal")
    assert check["data"]["findings"] == ["api-open", "open"]


def test_a_204_where_a_body_was_expected_is_reported_not_taken_for_open(web):
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8003/success.txt'")  # expect_body: success
    assert check["status"] == "warn" and check["data"]["findings"] == ["unexpected-answer"]


def test_no_answer_is_its_own_finding_within_the_timeout(web):
    started = time.monotonic()
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8009/success.txt', timeout: 1")
    assert time.monotonic() - started < 1 + 3  # the interpreter's start-up included
    assert check["status"] == "warn" and check["data"]["findings"] == ["no-answer"]
    assert check["summary"] == "the portal probe http://127.0.0.1:8009/success.txt did not answer: no portal seen, " \
                               "but no open web either"
    assert "no answer within 1 s" in check["data"]["probe"]["error"]
    refused = portal(web, "probe_url: 'http://127.0.0.1:8010/success.txt'")[1]
    assert refused["data"]["findings"] == ["no-answer"] and "refused" in refused["data"]["probe"]["error"].lower()


def test_a_portal_is_named_in_the_mail_checks_failure(web):
    config = web.config("preflight:\n  portal: {announced: false, probe_url: 'http://127.0.0.1:8001/x'}\n"
                        "  mail: {servers: ['127.0.0.1:8010'], timeout: 2}\n")
    result = web.travelsync("--config", config, "--json", "preflight", "--only", "mail,portal")
    mail, found = result.json["checks"]
    assert result.exit_code == 1 and found["status"] == "warn" and mail["status"] == "fail"
    assert mail["details"][-1].startswith(f"a captive portal was found ({PORTAL}): sign in there")
    assert mail["data"]["captive_portal"] == PORTAL


def test_garbage_from_the_server_is_shown_escaped(web):
    """A hostile network's bytes reach the person's terminal only escaped."""
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8007/success.txt'")
    assert check["data"]["findings"] == ["no-answer"]
    assert "\x1b" not in json.dumps(check) and "\\x1b]0;owned" in check["data"]["probe"]["error"]


def test_the_api_and_the_probe_are_asked_at_once(web):
    """A silent API and a silent probe cost one timeout, not two."""
    started = time.monotonic()
    code, check = portal(web, "probe_url: 'http://127.0.0.1:8009/a', api_url: 'http://127.0.0.1:8009/b', timeout: 2")
    elapsed = time.monotonic() - started
    assert check["data"]["findings"] == ["api-invalid", "no-answer"]
    assert elapsed < 2 * 2 - 0.2, elapsed  # the interpreter's start-up included
