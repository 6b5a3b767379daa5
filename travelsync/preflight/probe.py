"""Can the configured probe (`host:port`) be reached over IPv6 within a time limit?

Name resolution runs in a daemon thread so that a resolver that never answers cannot hold
the check beyond its timeout; the TCP connect gets what is left of it.
"""

import socket
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    target: str
    ok: bool
    message: str
    address: str | None = None
    seconds: float = 0.0


def split_host_port(text: str) -> tuple[str, int]:
    """"mail.example.org:993" or "[2001:db8::1]:993" → (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected host:port, found {text!r}")
    return host.strip("[]"), int(port)


def _resolve(host: str, port: int, timeout: float) -> list:
    found: dict = {}

    def ask():
        try:
            found["infos"] = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_STREAM)
        except OSError as error:
            found["error"] = error

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no IPv6 address for {host} within {timeout:.3g} s (resolver silent)")
    if "error" in found:
        raise OSError(f"no IPv6 address for {host}: {found['error']}")
    return found["infos"]


def probe(target: str, timeout: float) -> ProbeResult:
    """Connect over TCP/IPv6 to `target`; never takes much longer than `timeout` seconds."""
    started = time.monotonic()
    deadline = started + timeout
    try:
        host, port = split_host_port(target)
        infos = _resolve(host, port, timeout)
    except (OSError, ValueError) as error:
        return ProbeResult(target, False, str(error), seconds=time.monotonic() - started)
    last_error = "no address"
    for family, kind, protocol, _, address in infos:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        with socket.socket(family, kind, protocol) as connection:
            connection.settimeout(remaining)
            try:
                connection.connect(address)
            except socket.timeout:
                last_error = f"{address[0]} port {port}: no answer within {timeout:.3g} s"
                continue
            except OSError as error:
                last_error = f"{address[0]} port {port}: {error.strerror or error}"
                continue
        seconds = time.monotonic() - started
        return ProbeResult(target, True, f"{target} answered from {address[0]} in {seconds * 1000:.0f} ms",
                           address[0], seconds)
    if time.monotonic() >= deadline and "no answer" not in last_error:
        last_error = f"{last_error} (time limit {timeout:.3g} s reached)"
    return ProbeResult(target, False, last_error, seconds=time.monotonic() - started)
