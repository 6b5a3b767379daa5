"""tunnel: when native IPv6 does not work, the configured tunnel must be up, addressed, routed.

Native IPv6 is judged here with the same pure rules as the ipv6 check (routes.native_ipv6),
leaving out tunnel interfaces, so this check needs no other check's result.
"""

from travelsync.preflight import netinfo, routes, tunnels
from travelsync.preflight.model import FAIL, SKIP, WARN, CheckResult

NAME = "tunnel"


def run(config, context) -> CheckResult:
    settings = config.preflight.tunnel
    if settings.kind is None and settings.interface is None:
        return CheckResult(NAME, SKIP, "no tunnel configured (preflight.tunnel.kind)")
    disabled = netinfo.ipv6_disabled_reason()
    if disabled:
        return CheckResult(NAME, FAIL, disabled)
    try:
        facts = netinfo.collect(runner=context.runner, timeout=min(5.0, context.remaining()), with_links=True)
    except netinfo.NetinfoError as error:
        return CheckResult(NAME, WARN, f"could not check: {error.message}")
    kind = settings.kind or "tun"
    interface = settings.interface or tunnels.KINDS[kind].interface
    excluded = tunnels.tunnel_interfaces(facts.links, interface)
    native = routes.native_ipv6(facts.addresses, facts.routes, exclude_interfaces=excluded)
    diagnosis = tunnels.diagnose_tunnel(
        kind=kind, interface=interface, start=settings.start, links=facts.links, addresses=facts.addresses,
        routes=facts.routes, processes=netinfo.processes() if not native[0] else (), native=native,
        ipv4_interface=facts.ipv4_default_interface)
    details = list(diagnosis.details)
    actions = []
    for command in diagnosis.fix:
        if command.startswith("kill ") or command.startswith("ip link set "):
            actions.append({"argv": command.split()})
        else:
            actions.append({"detach": command})
    if diagnosis.status == FAIL and diagnosis.fix and not facts.is_root:
        details.append("starting a tunnel usually needs root: run `sudo travelsync preflight --fix`")
    data = {"interface": interface, "kind": kind, "native": native[0]}
    if actions:
        data["actions"] = actions
    if diagnosis.stuck_pids:
        data["stuck_pids"] = list(diagnosis.stuck_pids)
    return CheckResult(NAME, diagnosis.status, diagnosis.summary, tuple(details), diagnosis.fix, data)
