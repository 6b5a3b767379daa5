"""RFC 7050 §3.2: does a prefix really lead through a NAT64? Ping a synthesized check server.

Check servers: the configured `check_server`, then the A records of the NAT64 FQDN (PTR
of Pref64::WKA). ICMPv6 echo at t=0, +1 s, +2 s, then up to 3 s more (`ping -c 3 -i 1
-w 5`). Never to Pref64::WKA itself (§3.2.1): the well-known addresses are refused as
check servers. The runner is passed in (travelsync.process.run by default).
"""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Network

from travelsync.nat64 import rfc6052

OK, FAIL, UNKNOWN = "ok", "failed", "unknown"
ECHOES, INTERVAL, DEADLINE = 3, 1, 5


@dataclass(frozen=True)
class Connectivity:
    prefix: IPv6Network
    status: str  # OK | FAIL | UNKNOWN (no check server known)
    reason: str
    server: str | None = None
    target: str | None = None

    def as_json(self) -> dict:
        return {"prefix": str(self.prefix), "status": self.status, "reason": self.reason,
                "server": self.server, "target": self.target}


def usable_check_servers(candidates) -> list[IPv4Address]:
    """IPv4 check servers in order, without duplicates and never a well-known address."""
    servers: list[IPv4Address] = []
    for text in candidates:
        try:
            address = IPv4Address(str(text).strip())
        except ValueError:
            continue
        if address not in rfc6052.WELL_KNOWN_IPV4 and address not in servers:
            servers.append(address)
    return servers


def ping_argv(target) -> list[str]:
    """Echo at 0, +1, +2 s; give up 5 s after the first (3 s after the last)."""
    return ["ping", "-6", "-n", "-q", "-c", str(ECHOES), "-i", str(INTERVAL), "-w", str(DEADLINE), str(target)]


def replies(ping_output: str) -> int:
    """Echo replies counted in ping's summary line ("3 packets transmitted, 2 received")."""
    match = re.search(r"(\d+) (?:packets )?received", ping_output)
    return int(match.group(1)) if match else 0


def check_prefix(prefix: IPv6Network, servers, run=None) -> Connectivity:
    """Ping each check server through `prefix` until one answers."""
    if run is None:
        from travelsync.process import run
    servers = usable_check_servers(servers)
    if not servers:
        return Connectivity(prefix, UNKNOWN, "no check server (configure preflight.nat64.check_server "
                                             "or publish A records for the NAT64 FQDN)")
    failures = []
    for server in servers:
        target = rfc6052.embed(prefix, server)
        done = run(ping_argv(target), timeout=DEADLINE + 2)
        if replies(done.text()) > 0:
            return Connectivity(prefix, OK, f"{target} ({server}) answered", str(server), str(target))
        failures.append(f"{target} ({server})")
    return Connectivity(prefix, FAIL, f"no echo reply from {', '.join(failures)}", str(servers[-1]),
                        str(rfc6052.embed(prefix, servers[-1])))


def check_prefixes(servers_by_prefix: dict, run=None) -> list[Connectivity]:
    """Check every prefix at once (the wait is one check's, not their sum)."""
    if not servers_by_prefix:
        return []
    with ThreadPoolExecutor(max_workers=len(servers_by_prefix)) as pool:
        futures = [pool.submit(check_prefix, prefix, servers, run) for prefix, servers in servers_by_prefix.items()]
        return [future.result() for future in futures]
