"""Preflight results as text for a person: one line per check, then its details and fixes."""

from travelsync.exitcodes import ExitStatus
from travelsync.preflight.model import FAIL, WARN

LABELS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def exit_status(results) -> ExitStatus:
    """0 when every check is ok or skipped, 3 with warnings, 1 with failures."""
    statuses = {r.status for r in results}
    if FAIL in statuses:
        return ExitStatus.FAILURE
    return ExitStatus.WARNINGS if WARN in statuses else ExitStatus.SUCCESS


def table(results, *, fixing: bool = False) -> str:
    width = max([len(r.name) for r in results] + [6])
    lines = []
    for result in results:
        lines.append(f"{LABELS.get(result.status, result.status):<5} {result.name:<{width}}  {result.summary}")
        indent = " " * (width + 8)
        lines += [f"{indent}{detail}" for detail in result.details]
        lines += [f"{indent}fix: {command}" for command in result.fix]
    if any(r.fix for r in results) and not fixing:
        lines.append("Run `travelsync preflight --fix` to apply the fixes shown (each is confirmed; "
                     "`--undo-fix` reverses the route fix).")
    return "\n".join(lines)
