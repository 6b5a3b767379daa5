"""Captive portals, the pure half: what an HTTP answer, an RFC 8908 API document or the
system's network state says about a portal. Nothing here opens a socket or a file.

Three kinds of evidence (docs/preflight.md):
- RFC 8910: the network announces the URI of its captive-portal API (DHCPv4 option 114,
  DHCPv6 option 103, router-advertisement option 37). The kernel ignores them; the
  network managers that read them expose the URI: systemd-networkd writes
  `CAPTIVE_PORTAL=` into /run/systemd/netif/links/<index>, NetworkManager lists the
  DHCP options (`nmcli -t -f DHCP4,DHCP6 device show`).
- RFC 8908: that API answers `application/captive+json` with `captive` (true: the client
  must sign in) and `user-portal-url` (where).
- The usual HTTP probe: a plain-HTTP URL that answers 204 (or a known body) when the
  network is open; a portal answers instead with a redirect, a 511 or its own page.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

API_CONTENT_TYPE = "application/captive+json"

# finding codes (CheckResult.data["findings"])
OPEN = "open"  # the probe got the expected answer
PORTAL = "portal"  # a redirect, a 511 or another page instead of the expected answer
API_CAPTIVE = "api-captive"  # the RFC 8908 API says captive: true
API_OPEN = "api-open"  # the RFC 8908 API says captive: false
API_INVALID = "api-invalid"  # the announced URI did not answer an RFC 8908 document
NO_ANSWER = "no-answer"  # the probe URL did not answer at all
UNEXPECTED = "unexpected-answer"  # an answer that is neither the expected one nor a portal's


@dataclass(frozen=True)
class Answer:
    """One HTTP response as far as the check needs it (the body cut at a few KiB)."""

    url: str
    status: int
    headers: dict  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class Verdict:
    finding: str
    message: str
    portal_url: str | None = None  # where the person signs in, when known


URL_LIMIT = 2000  # characters of a network-given URL shown


def shown(text: str) -> str:
    """A URL the network gave (Location, meta refresh, user-portal-url), safe to print: control
    characters escaped (a hostile portal must not drive the terminal), cut at URL_LIMIT."""
    text = "".join(c if c.isprintable() and c != "\x7f" else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= URL_LIMIT else text[:URL_LIMIT] + "…"


_META_REFRESH = re.compile(rb"""<meta[^>]+http-equiv\s*=\s*["']?refresh["']?[^>]*content\s*=\s*["']?\s*\d*\s*;?\s*"""
                           rb"""url\s*=\s*['"]?([^'">\s]+)""", re.IGNORECASE)


def meta_refresh(body: bytes) -> str | None:
    """The target of a `<meta http-equiv="refresh" content="0; url=...">`, which many portals
    send instead of a redirect; None when there is none."""
    match = _META_REFRESH.search(body)
    return match.group(1).decode("utf-8", "replace") if match else None


def judge_probe(answer: Answer, expect_body: str | None) -> Verdict:
    """Given the probe URL's answer, is the network open or behind a portal?

    Open: 204 (expect_body None), or 200 whose body, stripped, equals expect_body. A
    redirect names the portal (its Location, made absolute, never followed); 511 (RFC
    6585) and any other page are a portal too, named by its meta refresh when it has one.
    """
    if expect_body is None and answer.status == 204:
        return Verdict(OPEN, f"{answer.url} answered 204 as expected")
    if expect_body is not None and answer.status == 200 and answer.body.strip() == expect_body.strip().encode():
        return Verdict(OPEN, f"{answer.url} answered the expected body")
    if 300 <= answer.status < 400:
        location = answer.headers.get("location")
        if not location:
            return Verdict(PORTAL, f"{answer.url} answered {answer.status} without a Location", answer.url)
        target = shown(urljoin(answer.url, location))
        return Verdict(PORTAL, f"{answer.url} was redirected ({answer.status}) to {target} (not followed)", target)
    if answer.status == 511 or answer.status == 200:
        target = meta_refresh(answer.body)
        why = "511 Network Authentication Required" if answer.status == 511 else "a page instead of the expected answer"
        if target:
            target = shown(urljoin(answer.url, target))
            return Verdict(PORTAL, f"{answer.url} answered {why}, pointing to {target}", target)
        return Verdict(PORTAL, f"{answer.url} answered {why}", answer.url)
    return Verdict(UNEXPECTED, f"{answer.url} answered {answer.status}, expected "
                               f"{'204' if expect_body is None else '200 with the known body'}")


@dataclass(frozen=True)
class ApiState:
    """An RFC 8908 API document (§5): only `captive` is required."""

    captive: bool
    user_portal_url: str | None = None
    venue_info_url: str | None = None
    seconds_remaining: int | None = None
    can_extend_session: bool | None = None

    def as_json(self) -> dict:
        return {"captive": self.captive, "user-portal-url": self.user_portal_url,
                "venue-info-url": self.venue_info_url, "seconds-remaining": self.seconds_remaining,
                "can-extend-session": self.can_extend_session}


def parse_api(answer: Answer) -> ApiState:
    """Read an RFC 8908 API answer. Raise ValueError saying why it is not one (wrong status,
    content type, JSON, or a missing/non-boolean `captive`)."""
    if answer.status != 200:
        where = answer.headers.get("location")
        raise ValueError(f"answered {answer.status}" + (f" (redirect to {shown(urljoin(answer.url, where))}, "
                                                        "not followed)" if where else ""))
    content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != API_CONTENT_TYPE:
        raise ValueError(f"answered {shown(content_type[:100]) or 'no content type'}, not {API_CONTENT_TYPE}")
    try:
        document = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"its JSON does not parse: {shown(str(error))}") from None
    if not isinstance(document, dict) or not isinstance(document.get("captive"), bool):
        raise ValueError("its JSON has no boolean `captive` (RFC 8908 §5)")

    def text(key):
        value = document.get(key)
        return shown(value) if isinstance(value, str) and value else None

    remaining = document.get("seconds-remaining")
    extend = document.get("can-extend-session")
    return ApiState(document["captive"], text("user-portal-url"), text("venue-info-url"),
                    remaining if isinstance(remaining, int) and not isinstance(remaining, bool) else None,
                    extend if isinstance(extend, bool) else None)


def networkd_portal(state_text: str) -> str | None:
    """`CAPTIVE_PORTAL=` from a systemd-networkd link state file (/run/systemd/netif/links/N)."""
    for line in state_text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "CAPTIVE_PORTAL" and value.strip():
            return value.strip()
    return None


_NM_OPTION = re.compile(r"^DHCP[46]\.OPTION\[\d+\]:\s*(\S+)\s*=\s*(\S+)\s*$")


def networkmanager_portals(nmcli_text: str) -> list[str]:
    """URIs of the captive-portal DHCP options in `nmcli -t -f DHCP4,DHCP6 device show`
    (named `captive_portal`, `dhcp6_captive_portal` or `option_114`/`option_103` as
    NetworkManager versions differ)."""
    found = []
    for line in nmcli_text.splitlines():
        match = _NM_OPTION.match(line.strip())
        if not match:
            continue
        name, value = match.group(1).lower(), match.group(2)
        if ("captive" in name or name in ("option_114", "option_103", "unknown_114", "unknown_103")) \
                and urlsplit(value).scheme in ("http", "https") and value not in found:
            found.append(value)
    return found
