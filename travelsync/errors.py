"""Errors that reach the user as one line and a distinct exit code.

Library code raises these; only the CLI layer turns them into output and an exit status.
"""

from travelsync.exitcodes import ExitStatus


class TravelsyncError(Exception):
    """An expected failure: the message is shown as is, the traceback never."""

    exit_status = ExitStatus.FAILURE

    def __init__(self, message: str, *, exit_status: ExitStatus | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_status is not None:
            self.exit_status = exit_status


class UsageError(TravelsyncError):
    """Bad arguments, a step out of order, a path that is not in the snapshot."""

    exit_status = ExitStatus.USAGE


class ConfigError(TravelsyncError):
    """The configuration file is missing, unparsable or invalid (all problems at once)."""

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str, problems: "list | None" = None, **kw):
        super().__init__(message, **kw)
        self.problems = list(problems or [])


class TemporaryError(TravelsyncError):
    """Locked or unreachable: nothing was changed, running again later may succeed."""

    exit_status = ExitStatus.TEMPORARY
