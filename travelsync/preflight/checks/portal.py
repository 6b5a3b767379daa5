"""portal: is this network behind a captive portal? Run before the other checks (runner.RUN_FIRST),
because a portal makes the tunnel and the mail server fail in ways that explain nothing.

Evidence, strongest first: the RFC 8908 API of every URI the network announced (RFC 8910,
as systemd-networkd and NetworkManager expose it) or that is configured (api_url); then
the HTTP probe (probe_url, expect_body). A portal is a warning naming where to sign in.
Nothing is followed: a redirect is reported with its target. `annotate` adds the portal
to the other checks' findings.
"""

import shutil
from dataclasses import replace
from pathlib import Path

from travelsync.preflight import captive
from travelsync.preflight.model import OK, SKIP, WARN, CheckResult

NAME = "portal"
NETWORKD_LINKS = "/run/systemd/netif/links"
AFFECTED = ("ipv6", "tunnel", "nat64", "mail")  # checks whose failures a portal can explain


def announced_uris(*, runner, networkd_links: str = NETWORKD_LINKS, timeout: float = 2.0) -> list[tuple[str, str]]:
    """(URI, where it was read) for every RFC 8910 captive-portal URI the system exposes."""
    found: list[tuple[str, str]] = []
    links = Path(networkd_links)
    if links.is_dir():
        for state in sorted(links.iterdir()):
            try:
                uri = captive.networkd_portal(state.read_text(errors="replace"))
            except OSError:
                continue
            if uri:
                found.append((uri, f"systemd-networkd ({state})"))
    if shutil.which("nmcli"):
        try:
            done = runner(["nmcli", "-t", "-f", "DHCP4,DHCP6", "device", "show"], timeout=timeout)
        except Exception:  # NetworkManager not running, or too slow: not evidence either way
            done = None
        if done is not None and done.ok:
            found += [(uri, "NetworkManager (DHCP options)")
                      for uri in captive.networkmanager_portals(done.stdout.decode("utf-8", "replace"))]
    seen: set = set()
    return [(uri, where) for uri, where in found if not (uri in seen or seen.add(uri))]


def run(config, context, *, networkd_links: str = NETWORKD_LINKS) -> CheckResult:
    settings = config.preflight.portal
    sources = [(settings.api_url, "preflight.portal.api_url")] if settings.api_url else []
    if settings.announced:
        sources += announced_uris(runner=context.runner, networkd_links=networkd_links,
                                  timeout=min(2.0, context.remaining()))
    if not sources and not settings.probe_url:
        return CheckResult(NAME, SKIP, "no probe URL configured (preflight.portal.probe_url) and no captive-portal "
                                       "API announced")
    from travelsync.preflight import httpget  # http.client and ssl: only when the check runs (the runner
    # imports this module for annotate)

    requests = {("api", uri): (uri, captive.API_CONTENT_TYPE) for uri, _ in sources}
    if settings.probe_url:
        requests[("probe", settings.probe_url)] = (settings.probe_url, "*/*")
    answers = httpget.get_all(requests, min(float(settings.timeout), max(0.1, context.remaining() - 0.3)))
    findings, details, data = [], [], {}
    apis = [read_api(uri, where, answers[("api", uri)], findings, details) for uri, where in sources]
    portal_url = next((a["portal_url"] for a in apis if a.get("portal_url")), None)
    if apis:
        data["apis"] = apis
    if settings.probe_url:
        data["probe"] = read_probe(settings.probe_url, answers[("probe", settings.probe_url)], settings.expect_body,
                                   findings, details)
        portal_url = portal_url or data["probe"].get("portal_url")
    data["findings"] = list(dict.fromkeys(findings))
    status, summary = grade(findings, portal_url, settings.probe_url)
    if portal_url:
        data["portal_url"] = portal_url
    return CheckResult(NAME, status, summary, tuple(details), data=data)


def read_api(uri: str, where: str, answer, findings: list, details: list) -> dict:
    """One RFC 8908 API's answer → its JSON entry; findings and details appended."""
    from travelsync.preflight import httpget

    entry = {"uri": uri, "source": where}
    try:
        if isinstance(answer, httpget.NoAnswer):
            raise answer
        state = captive.parse_api(answer)
    except httpget.NoAnswer as error:
        findings.append(captive.API_INVALID)
        details.append(f"captive-portal API ({where}) did not answer: {error}")
        return {**entry, "error": str(error)}
    except ValueError as error:
        findings.append(captive.API_INVALID)
        details.append(f"captive-portal API {uri} ({where}) is not an RFC 8908 API: it {error}")
        return {**entry, "error": str(error)}
    entry["state"] = state.as_json()
    if not uri.startswith("https:"):
        details.append(f"captive-portal API {uri} is plain HTTP (RFC 8908 asks for HTTPS): anyone on the "
                       "network could have written its answer")
    if state.captive:
        findings.append(captive.API_CAPTIVE)
        entry["portal_url"] = state.user_portal_url or uri
        details.append(f"captive-portal API {uri} ({where}) says captive: sign in at "
                       f"{state.user_portal_url or '(no user-portal-url given)'}")
    else:
        findings.append(captive.API_OPEN)
        left = f"; {state.seconds_remaining} s of the session left" if state.seconds_remaining is not None else ""
        details.append(f"captive-portal API {uri} ({where}) says not captive{left}")
    return entry


def read_probe(url: str, answer, expect_body: str | None, findings: list, details: list) -> dict:
    """The probe's answer → its JSON entry; findings and details appended."""
    from travelsync.preflight import httpget

    if isinstance(answer, httpget.NoAnswer):
        findings.append(captive.NO_ANSWER)
        details.append(f"probe: {answer}")
        return {"url": url, "error": str(answer)}
    verdict = captive.judge_probe(answer, expect_body)
    findings.append(verdict.finding)
    details.append(f"probe: {verdict.message}")
    entry = {"url": url, "status": answer.status, "finding": verdict.finding}
    return {**entry, "portal_url": verdict.portal_url} if verdict.portal_url else entry


def grade(findings: list, portal_url: str | None, probe_url: str | None) -> tuple[str, str]:
    """(status, summary) from the findings (pure): a portal found wins; then what went wrong."""
    if portal_url:
        return WARN, f"captive portal: sign in at {portal_url}"
    if captive.NO_ANSWER in findings:
        return WARN, f"the portal probe {probe_url} did not answer: no portal seen, but no open web either"
    if captive.UNEXPECTED in findings:
        return WARN, f"the portal probe {probe_url} gave an unexpected answer"
    if captive.API_INVALID in findings and captive.OPEN not in findings:
        return WARN, "the announced captive-portal API did not answer as RFC 8908 says"
    return OK, "no captive portal"


def annotate(results: list) -> list:
    """When the portal check found a portal, say so in every warning or failure of the checks
    it can explain (the portal blocks their traffic until the person signs in)."""
    portal = next((r for r in results if r.name == NAME and r.data.get("portal_url")), None)
    if portal is None:
        return results
    url = portal.data["portal_url"]
    note = f"a captive portal was found ({url}): sign in there, then check again; it may be why this failed"
    return [replace(r, details=r.details + (note,), data={**r.data, "captive_portal": url})
            if r.name in AFFECTED and r.status not in (OK, SKIP) else r for r in results]
