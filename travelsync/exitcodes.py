"""Exit codes: the contract with cron, systemd and scripts (design §2).

Defined once here; `--help`, the docs and every command use these names.
"""

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    FAILURE = 1
    USAGE = 2  # usage or configuration error
    WARNINGS = 3  # completed, with warnings (vanished files, preflight warnings)
    TEMPORARY = 75  # EX_TEMPFAIL: repository locked or unreachable; try again later


EXIT_CODE_HELP = {
    ExitStatus.SUCCESS: "success",
    ExitStatus.FAILURE: "failure",
    ExitStatus.USAGE: "usage or configuration error",
    ExitStatus.WARNINGS: "completed with warnings (e.g. files vanished during backup)",
    ExitStatus.TEMPORARY: "temporary: repository locked or unreachable (cron retries later)",
}


def worst(*statuses: "ExitStatus") -> "ExitStatus":
    """The status that matters most when several steps each reported one."""
    order = [ExitStatus.SUCCESS, ExitStatus.WARNINGS, ExitStatus.TEMPORARY,
             ExitStatus.FAILURE, ExitStatus.USAGE]
    return max(statuses, key=order.index, default=ExitStatus.SUCCESS)
