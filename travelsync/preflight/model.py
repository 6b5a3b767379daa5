"""The result every preflight check returns (design §7) and the order of severities."""

from dataclasses import dataclass, field

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str  # "ipv6", "tunnel", "nat64"
    status: str  # OK | WARN | FAIL | SKIP
    summary: str  # one line a person reads first
    details: tuple[str, ...] = ()  # further lines (routes, prefixes, why something was skipped)
    fix: tuple[str, ...] = ()  # commands --fix would run (each printed before it runs)
    data: dict = field(default_factory=dict)  # machine-readable facts for --json

    def as_json(self) -> dict:
        return {"name": self.name, "status": self.status, "summary": self.summary,
                "details": list(self.details), "fix": list(self.fix), **({"data": self.data} if self.data else {})}
