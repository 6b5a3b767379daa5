"""The user's commands around backup, prepare and finalize (config `hooks`), as borgmatic's
before_backup/after_backup/on_error and rsnapshot's cmd_preexec.

Each hook is a list of shell commands (`/bin/sh -c`), run in order, in a session of their
own, each within `hooks.timeout` seconds (then its whole process group is killed), with the
run described in TRAVELSYNC_* variables (`hook_env`). The first that fails ends the list:

- a before-hook (before_backup, before_prepare) exiting 75 skips the run softly: nothing
  is done, on_error does not run, travelsync exits 75 "skipped by hook" (cron's "try
  later"; a laptop on battery, a metered network);
- any other failure (exit status, timeout, a SIGTERM meanwhile) fails the run (exit 1);
- on_error runs whenever backup, prepare or finalize fails, whatever failed (rsync, the
  repository, a hook, SIGTERM: backup stops at a safe point, exit 75; prepare and finalize
  unwind from the Terminated the CLI raises, exit 143), with TRAVELSYNC_STATUS,
  TRAVELSYNC_EXIT_CODE and TRAVELSYNC_MESSAGE set; its own failures are reported as
  warnings, never raised.
"""

import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager

from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.exitcodes import ExitStatus

SKIP = 75
BEFORE = {"backup": "before_backup", "prepare": "before_prepare"}
AFTER = {"backup": "after_backup", "finalize": "after_finalize"}


class SkippedByHook(TemporaryError):
    """A before-hook exited 75: the run is skipped (exit 75), not failed."""


class HookFailed(TravelsyncError):
    """A hook failed (exit status, timeout, stopped): the run fails (exit 1)."""


class HookStopped(TemporaryError):
    """The run was asked to stop (backup's SIGTERM) while a hook ran: the hook's process group
    is ended and the run stops as a stopped backup does (exit 75)."""


def hook_env(config, command: str, hook: str, extra: dict | None = None, environ=None) -> dict[str, str]:
    """The environment a hook runs with: the caller's, plus what describes the run."""
    env = dict(os.environ if environ is None else environ)
    env.update({"TRAVELSYNC_HOOK": hook, "TRAVELSYNC_COMMAND": command,
                "TRAVELSYNC_REPOSITORY": str(config.repository),
                "TRAVELSYNC_SOURCES": "\n".join(str(s.path) for s in config.sources)})
    if config.source_file is not None:
        env["TRAVELSYNC_CONFIG"] = str(config.source_file)
    for key, value in (extra or {}).items():
        env[f"TRAVELSYNC_{key.upper()}"] = "" if value is None else str(value)
    return env


def run_command(command: str, env: dict, timeout: float, cancel: threading.Event | None = None):
    """Run one hook command; return its exit status, or "timed out after N s" / "stopped"
    (its process group killed). A hook cannot outlive its timeout nor hold a SIGTERM up."""
    process = subprocess.Popen(["/bin/sh", "-c", command], env=env, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                return process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            why = ("stopped (SIGTERM)" if cancel is not None and cancel.is_set()
                   else f"timed out after {timeout:g} s" if time.monotonic() > deadline else None)
            if why is not None:
                _kill_group(process)
                return why
    except BaseException:  # Terminated, Ctrl-C: the hook goes with us
        _kill_group(process)
        raise


def _kill_group(process) -> None:
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_hooks(config, hook: str, command: str, *, environ=None, extra=None, cancel=None) -> None:
    """Run hook list `hook` (e.g. "before_backup"): SkippedByHook when a before-hook exits 75,
    HookFailed for any other failure."""
    for line in getattr(config.hooks, hook):
        status = run_command(line, hook_env(config, command, hook, extra, environ), config.hooks.timeout, cancel)
        if status == 0:
            continue
        if status == SKIP and hook.startswith("before_"):
            raise SkippedByHook(f"{command} skipped by hook: {hook} {line!r} exited 75")
        what = f"exited {status}" if isinstance(status, int) else status
        if cancel is not None and cancel.is_set():
            raise HookStopped(f"{hook} hook {line!r} {what}", hint="run it again")
        raise HookFailed(f"{hook} hook {line!r} {what}", hint=f"the {command} did not run" if
                         hook.startswith("before_") else None)


def run_on_error(config, command: str, status: int, message: str, *, environ=None, extra=None) -> list[str]:
    """Run the on_error hooks; return their problems as lines (never raised)."""
    problems = []
    details = {"status": "failure", "exit_code": int(status), "message": message, **(extra or {})}
    for line in config.hooks.on_error:
        result = run_command(line, hook_env(config, command, "on_error", details, environ), config.hooks.timeout)
        if result != 0:
            problems.append(f"on_error hook {line!r} " + (f"exited {result}" if isinstance(result, int) else result))
    return problems


@contextmanager
def around(config, command: str, *, environ=None, cancel=None, warn=lambda line: None):
    """Run `command`'s before-hooks, the block, then its after-hooks; on_error when anything
    in it fails. The block may set `run["status"]` (an exit status it returns rather than
    raises) and `run["extra"]` (e.g. {"snapshot": id, "kind": "full"}) for the hooks."""
    run = {"status": ExitStatus.SUCCESS, "extra": {}}
    try:
        if command in BEFORE:
            run_hooks(config, BEFORE[command], command, environ=environ, cancel=cancel)
        yield run
        if int(run["status"]) not in (ExitStatus.SUCCESS, ExitStatus.WARNINGS):
            for problem in run_on_error(config, command, run["status"], f"{command} failed", environ=environ,
                                        extra=run["extra"]):
                warn(problem)
            return
        if command in AFTER:
            run_hooks(config, AFTER[command], command, environ=environ, cancel=cancel,
                      extra={"status": "success" if run["status"] == 0 else "warnings",
                             "exit_code": int(run["status"]), **run["extra"]})
    except SkippedByHook:
        raise
    except TravelsyncError as error:
        for problem in run_on_error(config, command, error.exit_status, error.message, environ=environ,
                                    extra=run["extra"]):
            warn(problem)
        raise
    except BaseException as error:  # SIGTERM, Ctrl-C, an internal error: a failure the user asked to hear of
        status, message = interrupted(error)
        for problem in run_on_error(config, command, status, message, environ=environ, extra=run["extra"]):
            warn(problem)
        raise


def interrupted(error: BaseException) -> tuple[int, str]:
    """The exit status and message a run ended by `error` has: 143 for SIGTERM (raised as
    cli.lazy.Terminated), 130 for Ctrl-C, 1 for anything else."""
    from travelsync.cli.lazy import Terminated

    if isinstance(error, Terminated):
        return 143, "stopped by SIGTERM"
    if isinstance(error, KeyboardInterrupt):
        return 130, "interrupted (Ctrl-C)"
    return int(ExitStatus.FAILURE), f"{type(error).__name__}: {error}"
