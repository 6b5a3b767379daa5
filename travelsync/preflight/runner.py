"""Run the preflight checks at once, each in its own thread under its own time limit.

The total time is about the slowest check, not the sum. A check that overruns is reported
as failed and left behind in a daemon thread (it cannot hold the process open); a check
module that is not installed (nat64 before its issue lands) is reported as skipped.
"""

import importlib
import os
import threading
import time

from travelsync.errors import TravelsyncError, UsageError
from travelsync.preflight.checks import CHECK_NAMES, CheckContext
from travelsync.preflight.model import FAIL, SKIP, CheckResult
from travelsync.process import run


def parse_only(only) -> tuple[str, ...]:
    """"ipv6,tunnel" or ["ipv6", "tunnel"] → ("ipv6", "tunnel"); None → every check."""
    if only is None:
        return CHECK_NAMES
    names = [n.strip() for part in ([only] if isinstance(only, str) else only) for n in part.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown or not names:
        raise UsageError(f"--only: unknown check {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(CHECK_NAMES)}")
    return tuple(dict.fromkeys(names))


def load_check(name: str):
    """The module travelsync.preflight.checks.<name>, or None when it is not there."""
    module_name = f"travelsync.preflight.checks.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise


def _run_one(check, name: str, config, context: CheckContext) -> CheckResult:
    try:
        result = check.run(config, context)
    except TravelsyncError as error:
        return CheckResult(name, FAIL, error.message, (error.hint,) if error.hint else ())
    except Exception as error:  # a bug in one check must not hide the others' results
        return CheckResult(name, FAIL, f"internal error: {type(error).__name__}: {error}")
    if not isinstance(result, CheckResult):
        return CheckResult(name, FAIL, f"internal error: check returned {type(result).__name__}")
    return result


def run_checks(config, *, only=None, environ=None, runner=run, checks: dict | None = None) -> list[CheckResult]:
    """Run the chosen checks concurrently; return their results in the order asked for.

    `checks` maps names to check modules (tests pass fakes); by default they are imported
    by name. Each check gets `config.preflight.timeout` seconds from the common start.
    """
    names = parse_only(only)
    environ = os.environ if environ is None else environ
    timeout = float(config.preflight.timeout)
    started = time.monotonic()
    slots: dict[str, list] = {}
    threads: dict[str, threading.Thread] = {}
    results: dict[str, CheckResult] = {}
    for name in names:
        check = checks[name] if checks is not None and name in checks else (None if checks is not None
                                                                             else load_check(name))
        if check is None:
            results[name] = CheckResult(name, SKIP, "not available in this version")
            continue
        context = CheckContext(runner=runner, environ=environ, timeout=timeout, started=started)
        slot: list = []
        slots[name] = slot
        thread = threading.Thread(target=lambda c=check, n=name, x=context, s=slot: s.append(_run_one(c, n, config, x)),
                                  name=f"preflight-{name}", daemon=True)
        thread.start()
        threads[name] = thread
    for name, thread in threads.items():
        thread.join(max(0.0, started + timeout - time.monotonic()))
        if slots[name]:
            results[name] = slots[name][0]
        else:
            results[name] = CheckResult(name, FAIL, f"did not finish within {timeout:g} s (preflight.timeout)")
    from travelsync.preflight.checks.portal import annotate

    return annotate([results[name] for name in names])  # a captive portal named in the failures it explains
