"""Preflight checks, one module per check, found by name (travelsync.preflight.checks.<name>).

A check module exposes:
    NAME = "ipv6"
    def run(config, context) -> CheckResult
`config` is the whole travelsync Config (read `config.preflight.<name>`); `context` is a
CheckContext below. A check may block (DNS, ping, connect) but should finish within
`context.remaining()`; the runner reports it as failed when it does not. Checks never print,
never change the system: they put their fix commands into CheckResult.fix (shown to the
user) and the actions into CheckResult.data (see travelsync.preflight.fix).
"""

import time
from dataclasses import dataclass, field
from typing import Mapping

from travelsync.process import run

CHECK_NAMES = ("portal", "ipv6", "tunnel", "nat64", "mail")  # the portal first: it explains the others' failures


@dataclass(frozen=True)
class CheckContext:
    runner: object = run  # travelsync.process.run or a recording stand-in
    environ: Mapping = field(default_factory=dict)
    timeout: float = 15.0  # seconds this check may take
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        """Seconds left of this check's time limit (never below 0.1)."""
        return max(0.1, self.started + self.timeout - time.monotonic())
