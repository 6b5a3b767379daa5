"""ipv6: a usable global address, healthy default routes, gateways that answer, the probe.

Gateways are pinged and the probe is connected at the same time, so the check takes about
the longer of the two. When the routes can be cured, the route fix is planned here
(travelsync.preflight.fix) and carried in the result for `--fix`.
"""

import threading

from travelsync.preflight import fix, netinfo, probe, routes
from travelsync.preflight.model import FAIL, OK, WARN, CheckResult

NAME = "ipv6"


def run(config, context) -> CheckResult:
    settings = config.preflight.ipv6
    disabled = netinfo.ipv6_disabled_reason()
    if disabled:
        return CheckResult(NAME, FAIL, disabled, ("nothing else could be checked",))
    try:
        facts = netinfo.collect(runner=context.runner, timeout=min(5.0, context.remaining()))
    except netinfo.NetinfoError as error:
        return CheckResult(NAME, WARN, f"could not check: {error.message}")

    probe_result: list = []
    prober = None
    if settings.probe:
        wait = max(0.1, min(float(settings.timeout), context.remaining() - 0.3))  # report before the runner gives up
        prober = threading.Thread(target=lambda: probe_result.append(probe.probe(settings.probe, wait)), daemon=True)
        prober.start()
    defaults = [r for r in routes.only_interface(facts.routes, settings.interface) if r.is_default]
    answers = netinfo.ping_all([(r.gateway, r.interface) for r in defaults if r.gateway], runner=context.runner)
    if prober is not None:
        prober.join(context.remaining())

    diagnosis = routes.diagnose(facts.addresses, facts.routes, expiry_warning=settings.expiry_warning,
                                interface=settings.interface, gateway_answers=answers)
    status, summary = diagnosis.status, diagnosis.summary
    details = [f.message for f in diagnosis.findings if f.code != "ok" and f.message != summary]
    details += list(diagnosis.facts)
    for (gateway, interface), answered in answers.items():
        if answered is None:
            details.append(f"could not ping {gateway} dev {interface} (ping missing or not permitted)")

    data = {"addresses": [a.describe() for a in diagnosis.usable + diagnosis.unusable],
            "default_routes": [r.describe() for r in diagnosis.defaults],
            "gateways": {f"{g}%{i}": a for (g, i), a in answers.items()},
            "findings": diagnosis.codes()}
    if settings.probe:
        outcome = probe_result[0] if probe_result else probe.ProbeResult(settings.probe, False, "no answer in time")
        data["probe"] = {"target": outcome.target, "ok": outcome.ok, "address": outcome.address,
                         "seconds": round(outcome.seconds, 3)}
        if outcome.ok:
            details.append(f"probe: {outcome.message}")
        else:
            message = f"probe {settings.probe} not reachable over IPv6: {outcome.message}"
            if status == FAIL:
                details.insert(0, message)
            else:  # the probe's failure is the worst news: it leads, the route finding follows
                if status != OK:
                    details.insert(0, summary)
                summary, status = message, FAIL

    commands: tuple = ()
    if diagnosis.fixable:
        plan = fix.plan_route_fix(diagnosis.defaults, answers)
        if plan is None:
            details.append("no router answered a ping: there is no router to pin (--fix cannot help)")
        else:
            commands = tuple(fix.show(argv) for argv in plan.commands())
            data["route_fix"] = plan.as_json()
            if not facts.is_root:
                details.append("changing routes needs root: run `sudo travelsync preflight --fix`")
    return CheckResult(NAME, status, summary, tuple(details), commands, data)
