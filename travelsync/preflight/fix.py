"""The route fix (one static default through a router that answers, pinned) and its undo.

Planning is pure: given the default routes and which gateways answered, return the commands.
Applying records how to undo first ($XDG_STATE_HOME/travelsync/preflight-fix.json), then
runs each command after printing it. `--undo-fix` deletes the static route, puts the sysctl
back and re-adds a removed router-advertised route with what was left of its lifetime and
every attribute it had (hop limit, preference, ...).
"""

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from travelsync import atomic, clock
from travelsync.errors import TravelsyncError, UsageError
from travelsync.preflight.routes import Route
from travelsync.process import ProgramMissing, run

RECORD_NAME = "preflight-fix.json"
STATIC_METRIC = 1024


def sysctl_key(interface: str) -> str:
    """sysctl's dotted name; a dot inside an interface name (eth0.100) is written as '/'."""
    return f"net.ipv6.conf.{interface.replace('.', '/')}.accept_ra_defrtr"


def sysctl_path(key: str, proc_root: str = "/proc") -> Path:
    return Path(proc_root) / "sys" / key.translate(str.maketrans("./", "/."))


def read_sysctl(key: str, proc_root: str = "/proc") -> str | None:
    try:
        return sysctl_path(key, proc_root).read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class RouteFix:
    interface: str
    gateway: str
    remove: tuple[Route, ...]

    @property
    def interfaces(self) -> tuple[str, ...]:
        """The pinned interface, then every other one that had a router-advertised default."""
        return tuple(dict.fromkeys([self.interface] + [r.interface for r in self.remove]))

    @property
    def sysctls(self) -> tuple[str, ...]:
        return tuple(sysctl_key(interface) for interface in self.interfaces)

    def commands(self) -> list[list[str]]:
        """Pin first (no advertisement re-adds a route meanwhile), delete, then add the static one."""
        argv = [["sysctl", "-w", f"{key}=0"] for key in self.sysctls]
        for route in self.remove:
            argv.append(["ip", "-6", "route", "del", "default", "via", route.gateway, "dev", route.interface,
                         "proto", route.protocol or "ra", "metric", str(route.metric or STATIC_METRIC)])
        argv.append(["ip", "-6", "route", "add", "default", "via", self.gateway, "dev", self.interface,
                     "metric", str(STATIC_METRIC), "proto", "static"])
        return argv

    def as_json(self) -> dict:
        return {"interface": self.interface, "gateway": self.gateway,
                "remove": [{"gateway": r.gateway, "interface": r.interface, "metric": r.metric,
                            "protocol": r.protocol, "expires": r.expires, "pref": r.pref,
                            "metrics": dict(r.metrics), "flags": list(r.flags)} for r in self.remove]}

    @classmethod
    def from_json(cls, data: dict) -> "RouteFix":
        remove = tuple(Route("default", r["interface"], r["gateway"], r.get("protocol"), r.get("metric"),
                             r.get("expires"), r.get("pref"), tuple(r.get("flags", ())),
                             metrics=tuple(r.get("metrics", {}).items())) for r in data["remove"])
        return cls(data["interface"], data["gateway"], remove)


def choose_router(defaults, answers: dict) -> Route | None:
    """The router to pin: one whose gateway answered; live before expired, then the longest
    remaining lifetime, then the lowest metric."""
    answering = [r for r in defaults if r.gateway and answers.get((r.gateway, r.interface))]
    if not answering:
        return None
    return min(answering, key=lambda r: (r.expired, -(r.expires if r.expires is not None else 1 << 30),
                                         r.metric or 0))


def plan_route_fix(defaults, answers: dict) -> RouteFix | None:
    """Given the default routes and ping answers, the fix, or None when no router answers."""
    chosen = choose_router(defaults, answers)
    if chosen is None:
        return None
    remove = tuple(r for r in defaults if r.from_ra)  # on every interface: one default route remains
    return RouteFix(chosen.interface, chosen.gateway, remove)


def plan_undo(record: dict, current_routes, elapsed: float) -> list[list[str]]:
    """Commands that put back the state recorded before the fix, given the routes now and the
    seconds since the fix.

    The static route goes; one removed router-advertised route comes back at once with what
    is left of its lifetime (no gap without a default route; the kernel refuses a second
    default of the same metric from userspace); the sysctl gets its old value; a router
    solicitation (rdisc6, package ndisc6) makes every router advertise now, so the kernel
    learns their routes again as it did before. Expired routes stay away.
    """
    interface, gateway = record["interface"], record["gateway"]
    argv = []
    static = [r for r in current_routes if r.is_default and r.gateway == gateway and r.interface == interface
              and r.protocol == "static"]
    if static:
        argv.append(["ip", "-6", "route", "del", "default", "via", gateway, "dev", interface,
                     "proto", "static", "metric", str(static[0].metric or STATIC_METRIC)])
    others = [r for r in current_routes if r.is_default and r.protocol != "static"]
    alive = [r for r in record.get("removed", ()) if r.get("expires") is not None and r["expires"] - elapsed >= 1]
    alive.sort(key=lambda r: r["gateway"] != gateway)  # the router that answered first
    if alive and not others:
        route = alive[0]
        command = ["ip", "-6", "route", "add", "default", "via", route["gateway"], "dev", route["interface"],
                   "metric", str(route.get("metric") or STATIC_METRIC), "proto", route.get("protocol") or "ra",
                   "expires", str(int(route["expires"] - elapsed))]
        command += route_attributes(route)
        argv.append(command)
    for sysctl in record.get("sysctls", ()):  # after the route: no advertisement races our addition
        if sysctl.get("previous") is not None:
            argv.append(["sysctl", "-w", f"{sysctl['name']}={sysctl['previous']}"])
    for solicited in dict.fromkeys(r["interface"] for r in record.get("removed", ())):
        argv.append(SOLICIT + [solicited])
    return argv


# `ip -j` names of route metrics that `ip route add` spells differently; the rest are the same word
METRIC_KEYWORDS = {"congestion": "congctl"}
SETTABLE_FLAGS = ("onlink",)  # the others (linkdown, dead, offload, ...) are the kernel's state


def route_attributes(route: dict) -> list[str]:
    """The `ip route add` words for a recorded route's metrics (hoplimit, mtu, ...), preference
    and settable flags: what the kernel had, so the route comes back exactly (a later
    advertisement refreshes the lifetime but does not put back a missing hop limit).
    `ip -j` does not show a metric's lock, so none is restored."""
    words: list[str] = []
    for name, value in route.get("metrics", {}).items():
        if name == "ecn" and value is None:  # shown for `features ecn`
            words += ["features", "ecn"]
        else:
            words += [METRIC_KEYWORDS.get(name, name), str(value)]
    if route.get("pref"):
        words += ["pref", route["pref"]]
    return words + [flag for flag in route.get("flags", ()) if flag in SETTABLE_FLAGS]


SOLICIT = ["rdisc6", "-1", "-n", "-q", "-r", "1", "-w", "1000"]  # optional: ask routers to advertise now


def show(argv) -> str:
    return shlex.join(argv)


# -- side effects -------------------------------------------------------------------------

def record_path(state_dir) -> Path:
    return Path(state_dir) / RECORD_NAME


def run_commands(commands, *, echo, runner=run, tolerate: tuple[str, ...] = ()) -> None:
    """Print each command, then run it; stop at the first failure (TravelsyncError names it).
    A failure whose message contains one of `tolerate` is reported and passed over; the
    router solicitation is optional (without rdisc6 the routes return with the next
    periodic advertisement)."""
    for argv in commands:
        echo(f"+ {show(argv)}")
        try:
            done = runner(argv, timeout=10)
        except ProgramMissing as missing:
            if argv[0] != SOLICIT[0]:
                raise
            echo(f"  ({missing.message}; the routers' routes return with their next advertisement)")
            continue
        if argv[0] == SOLICIT[0]:
            continue  # no answer to the solicitation: the periodic advertisements still come
        if not done.ok and any(text in done.error_line() for text in tolerate):
            echo(f"  ({done.error_line()}: already so)")
        elif not done.ok:
            raise TravelsyncError(f"`{show(argv)}` failed: {done.error_line()}",
                                  hint="the commands before it ran; `travelsync preflight --undo-fix` puts them back")


def apply_route_fix(plan: RouteFix, *, state_dir, environ, echo, runner=run) -> Path:
    """Write the undo record, then run the fix. Refuse while an earlier fix is still recorded."""
    path = record_path(state_dir)
    if path.exists():
        raise UsageError(f"a route fix is already in place ({path}); run `travelsync preflight --undo-fix` first")
    record = {"version": 1, "applied": clock.now(environ).isoformat(), "interface": plan.interface,
              "gateway": plan.gateway,
              "sysctls": [{"name": key, "previous": read_sysctl(key)} for key in plan.sysctls],
              "removed": plan.as_json()["remove"],
              "added": {"gateway": plan.gateway, "interface": plan.interface, "metric": STATIC_METRIC,
                        "protocol": "static"}}
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    atomic.atomic_write_json(path, record)
    run_commands(plan.commands(), echo=echo, runner=runner)
    return path


def load_record(state_dir) -> dict:
    path = record_path(state_dir)
    if not path.exists():
        raise UsageError(f"no route fix to undo ({path} does not exist)")
    record = atomic.read_json(path)
    if not isinstance(record, dict) or "interface" not in record or "gateway" not in record:
        raise TravelsyncError(f"{path}: not a preflight fix record; remove it after checking the routes by hand")
    return record


def seconds_since(record: dict, environ) -> float:
    from datetime import datetime

    return max(0.0, (clock.now(environ) - datetime.fromisoformat(record["applied"])).total_seconds())


def forget_record(state_dir) -> None:
    record_path(state_dir).unlink(missing_ok=True)


def start_detached(command: str, *, state_dir, echo, settle: float = 2.0) -> str:
    """Start a long-running tunnel client (the configured start command) in its own session,
    its output in $XDG_STATE_HOME/travelsync/tunnel-start.log; fail if it exits with an error
    within `settle` seconds."""
    echo(f"+ {command}")
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    log = Path(state_dir) / "tunnel-start.log"
    with open(log, "ab") as output:
        try:
            process = subprocess.Popen(["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as error:
            raise TravelsyncError(f"`{command}` could not start: {error}")
    try:
        code = process.wait(settle)
    except subprocess.TimeoutExpired:
        return f"started `{command}` (pid {process.pid}); its output goes to {log}"
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [f"exit status {code}"]
        raise TravelsyncError(f"`{command}` failed: {tail[0]}", hint=f"see {log}")
    return f"`{command}` finished; its output is in {log}"
