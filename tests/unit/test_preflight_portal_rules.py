"""The portal check's pure half (travelsync/preflight/captive.py): what a probe answer, an RFC 8908
API document, a systemd-networkd link state and NetworkManager's DHCP options say (issue 22)."""

import json
import re

import pytest

from travelsync.config.load import parse_config
from travelsync.config.model import PortalCheck
from travelsync.errors import ConfigError
from travelsync.preflight import captive
from travelsync.preflight.captive import Answer

PROBE = "http://detectportal.example/success.txt"


def answer(status, body=b"", **headers):
    return Answer(PROBE, status, {k.replace("_", "-"): v for k, v in headers.items()}, body)


@pytest.mark.parametrize("reply, expect, finding, portal", [
    (answer(204), None, captive.OPEN, None),
    (answer(200, b"success\n"), "success", captive.OPEN, None),
    (answer(302, location="/login?x=1"), "success", captive.PORTAL, "http://detectportal.example/login?x=1"),
    (answer(307, location="https://portal.example/"), None, captive.PORTAL, "https://portal.example/"),
    (answer(302), None, captive.PORTAL, PROBE),  # a redirect without Location still is no open network
    (answer(511, b'<meta http-equiv="refresh" content="0;url=https://portal.example/a">'), None, captive.PORTAL,
     "https://portal.example/a"),
    (answer(200, b"<html>Welcome to Hotel Wi-Fi</html>"), "success", captive.PORTAL, PROBE),
    (answer(200, b"success"), None, captive.PORTAL, PROBE),  # 204 expected: a 200 is someone else's page
    (answer(204), "success", captive.UNEXPECTED, None),
    (answer(500), None, captive.UNEXPECTED, None),
])
def test_judge_probe(reply, expect, finding, portal):
    verdict = captive.judge_probe(reply, expect)
    assert (verdict.finding, verdict.portal_url) == (finding, portal)


def test_a_redirect_is_reported_not_followed():
    verdict = captive.judge_probe(answer(302, location="http://other.example/p"), None)
    assert verdict.message == f"{PROBE} was redirected (302) to http://other.example/p (not followed)"


def api(document, content_type="application/captive+json", status=200, **headers):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return Answer("https://api.example/captive", status, {"content-type": content_type, **headers}, body)


def test_parse_api_reads_rfc8908_fields():
    state = captive.parse_api(api({"captive": True, "user-portal-url": "https://p.example/", "seconds-remaining": 30,
                                   "can-extend-session": True, "venue-info-url": "https://v.example/"},
                                  "application/captive+json; charset=utf-8"))
    assert state == captive.ApiState(True, "https://p.example/", "https://v.example/", 30, True)
    assert captive.parse_api(api({"captive": False})).user_portal_url is None


@pytest.mark.parametrize("reply, why", [
    (api({"captive": True}, "application/json"), "answered application/json, not application/captive+json"),
    (api(b"{captive: yes"), "its JSON does not parse"),
    (api({"captive": "yes"}), "no boolean `captive`"),
    (api([1, 2]), "no boolean `captive`"),
    (api(b"", status=302, location="https://x.example/"), "answered 302 (redirect to https://x.example/, not followed)"),
])
def test_parse_api_says_why_an_answer_is_not_an_api(reply, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        captive.parse_api(reply)


def test_networkd_link_state():
    text = "# This is private data. Do not parse.\nADMIN_STATE=configured\nCAPTIVE_PORTAL=https://api.example/c\n"
    assert captive.networkd_portal(text) == "https://api.example/c"
    assert captive.networkd_portal("ADMIN_STATE=configured\nCAPTIVE_PORTAL=\n") is None


def test_networkmanager_dhcp_options():
    text = ("DHCP4.OPTION[1]:domain_name_servers = 192.0.2.53\n"
            "DHCP4.OPTION[2]:captive_portal = https://api.example/c\n"
            "DHCP6.OPTION[1]:dhcp6_captive_portal = https://api.example/c\n"
            "DHCP4.OPTION[3]:option_114 = https://other.example/api\n"
            "DHCP4.OPTION[4]:captive_portal = urn:ietf:params:capport:unrestricted\n")
    assert captive.networkmanager_portals(text) == ["https://api.example/c", "https://other.example/api"]


def test_config_keys_defaults_and_errors():
    base = "repository: /srv/r\nsources: [{name: home, path: /home/m}]\n"
    assert parse_config(base).preflight.portal == PortalCheck()
    assert PortalCheck().probe_url.startswith("http://") and PortalCheck().expect_body == "success"
    off = parse_config(base + "preflight:\n  portal: {probe_url: null, announced: false}\n").preflight.portal
    assert (off.probe_url, off.announced) == (None, False)
    with pytest.raises(ConfigError, match=r"preflight.portal.probe_url: expected an http\(s\) URL"):
        parse_config(base + "preflight:\n  portal: {probe_url: 'ftp://x'}\n")


def test_urls_from_the_network_cannot_drive_the_terminal():
    """A hostile portal's Location or user-portal-url is shown with its control characters
    escaped and cut at a sane length (the human table prints it)."""
    verdict = captive.judge_probe(answer(302, location="http://evil.example/\x1b]0;pwned\x07\x1b[2J"), None)
    assert verdict.portal_url == "http://evil.example/\\x1b]0;pwned\\x07\\x1b[2J"
    assert "\x1b" not in verdict.message
    state = captive.parse_api(api({"captive": True, "user-portal-url": "https://p.example/" + "a" * 5000 + "\r\n"}))
    assert len(state.user_portal_url) == captive.URL_LIMIT + 1 and "\r" not in state.user_portal_url


def test_grade_a_portal_wins_then_what_went_wrong():
    from travelsync.preflight.checks.portal import grade

    assert grade(["no-answer", "api-captive"], "https://p.example/", "http://probe/") == (
        "warn", "captive portal: sign in at https://p.example/")
    assert grade(["api-invalid", "open"], None, "http://probe/") == ("ok", "no captive portal")
    assert grade(["api-invalid"], None, None)[0] == "warn"
    assert grade(["api-open", "no-answer"], None, "http://probe/")[1].startswith("the portal probe http://probe/ did not")
