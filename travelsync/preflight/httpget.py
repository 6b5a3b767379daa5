"""One bounded HTTP(S) GET that never follows a redirect: the side-effect half of the portal check.

The whole request (name resolution included, which a silent resolver can stretch far past a
socket timeout) runs in a daemon thread, so `get` returns within its time limit whatever the
network does. Redirects come back as they are: the caller reports where they point.
"""

import http.client
import ssl
import threading
from urllib.parse import urlsplit

from travelsync.preflight.captive import Answer, shown

BODY_LIMIT = 64 * 1024  # a probe or API answer is small; a portal page is cut here


class NoAnswer(Exception):
    """The URL did not answer: the message says why in one line."""


def get(url: str, timeout: float, *, accept: str = "*/*", cafile: str | None = None) -> Answer:
    """GET `url` (http or https; certificates and host names checked, against `cafile` when
    given); return its Answer. Raise NoAnswer when it does not answer within `timeout` s."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NoAnswer(f"{url}: not an http(s) URL")
    outcome: dict = {}

    def fetch():
        try:
            outcome["answer"] = _fetch(parts, url, timeout, accept, cafile)
        except Exception as error:  # reported below, in this thread's caller
            outcome["error"] = error

    thread = threading.Thread(target=fetch, name="preflight-http", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NoAnswer(f"{url}: no answer within {timeout:g} s")
    if "error" in outcome:  # a server's garbage (a bad status line) may be in the message
        raise NoAnswer(f"{url}: {shown(describe(outcome['error'], timeout))}")
    return outcome["answer"]


def get_all(requests: dict, timeout: float) -> dict:
    """{key: (url, accept)} → {key: Answer or NoAnswer}, every request at once: the whole takes
    about the slowest one, within `timeout`."""
    import threading

    results: dict = {}

    def one(key, url, accept):
        try:
            results[key] = get(url, timeout, accept=accept)
        except NoAnswer as error:
            results[key] = error

    threads = [threading.Thread(target=one, args=(key, url, accept), daemon=True)
               for key, (url, accept) in requests.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 0.5)
    return {key: results.get(key) or NoAnswer(f"{url}: no answer within {timeout:g} s")
            for key, (url, _) in requests.items()}


def _fetch(parts, url: str, timeout: float, accept: str, cafile: str | None) -> Answer:
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("GET", path, headers={"Accept": accept, "Connection": "close",
                                                 "User-Agent": "travelsync-preflight"})
        response = connection.getresponse()
        body = response.read(BODY_LIMIT)
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(url, response.status, headers, body)
    finally:
        connection.close()


def describe(error: BaseException, timeout: float) -> str:
    """A one-line reason for a failed request: resolver, refusal, unreachable, TLS."""
    import socket

    if isinstance(error, socket.gaierror):
        return f"name not resolved ({error.strerror})"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {error.verify_message}"
    if isinstance(error, (socket.timeout, TimeoutError)):  # the socket's limit, met before the thread's
        return f"no answer within {timeout:g} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"
