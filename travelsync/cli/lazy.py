"""A click group that imports a command's module only when that command runs.

`travelsync --help` must start in well under 150 ms, so the list of commands and their
one-line help live here as data, not as imported modules (sh, APScheduler and dnspython are
imported by the commands that need them and nowhere else).
"""

import importlib
import signal
import sys
import threading
import traceback

import click

from travelsync.errors import TravelsyncError
from travelsync.exitcodes import ExitStatus


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})  # name -> ("module:attribute", short help)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            target, _ = self.lazy[name]
            module_name, attribute = target.split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            from travelsync.cli.global_options import accept_global_options

            return accept_global_options(command)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        """List commands from the static table: no command module is imported for --help."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the same
    clean-up runs (rsync stopped with its partial file kept, locks released, ssh sessions
    ended) instead of Python's default: dying at once and leaving those behind."""


def stop_requested(signum: int) -> None:
    """Note that a signal asked this run to stop (a command with a handler of its own, such as
    backup's safe-point stop, calls this too): at the end of the run the ssh masters it used
    are closed rather than left to outlive it (shared_ssh.close_used)."""
    TravelsyncGroup.stopped_by = signum


def _on_signal(signum, _frame):
    stop_requested(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _stop_handlers() -> dict:
    """Install the SIGTERM/SIGINT handlers for a run (main thread only); the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.signal(number, _on_signal) for number in (signal.SIGTERM, signal.SIGINT)}


class TravelsyncGroup(LazyGroup):
    """The top-level group: turns every outcome into one line and an exit status."""

    verbose = False
    app = None  # this run's App: under --json a failure prints the error document on stdout too
    stopped_by = None  # the signal that asked this run to stop

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        TravelsyncGroup.app = None
        TravelsyncGroup.stopped_by = None
        previous = _stop_handlers()
        try:
            code = self._run(args, prog_name, complete_var, **extra)
        finally:
            for number, handler in previous.items():
                if handler is not None:  # None: set outside Python, cannot be put back
                    signal.signal(number, handler)
            if TravelsyncGroup.stopped_by is not None:
                from travelsync.shared_ssh import close_used

                close_used()
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args, prog_name, complete_var, **extra) -> int:
        try:
            result = super().main(args=args, prog_name=prog_name or "travelsync", complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except click.exceptions.Exit as done:
            return done.exit_code
        except click.ClickException as error:
            error.show()
            return self._failed(args, ExitStatus.USAGE, error.format_message())
        except click.Abort as error:  # click turns a KeyboardInterrupt into Abort
            code = _interrupted(error.__cause__ or error.__context__)
            if code is None:
                click.echo("travelsync: aborted", err=True)
                return self._failed(args, ExitStatus.FAILURE, "aborted")
            return self._failed(args, code, _STOPPED[code])
        except TravelsyncError as error:
            click.echo(f"travelsync: {error.message}", err=True)
            if error.hint:
                click.echo(f"hint: {error.hint}", err=True)
            return self._failed(args, int(error.exit_status), error.message, error.hint)
        except KeyboardInterrupt as error:
            code = _interrupted(error)
            return self._failed(args, code, _STOPPED[code])
        except Exception as error:  # the one place an unexpected error is caught
            if TravelsyncGroup.verbose:
                traceback.print_exc()
            message = f"internal error: {type(error).__name__}: {error}"
            click.echo(f"travelsync: {message}", err=True)
            hint = None if TravelsyncGroup.verbose else "rerun with -v for the traceback"
            if hint:
                click.echo(f"hint: {hint}", err=True)
            return self._failed(args, ExitStatus.FAILURE, message, hint)
        return int(result) if isinstance(result, int) else 0

    @staticmethod
    def _failed(args, code: int, message: str, hint: str | None = None) -> int:
        """Under --json, the one error document on stdout (scripts read stdout), unless the
        command already printed its own report; the exit status either way."""
        app = TravelsyncGroup.app
        argv = list(sys.argv[1:] if args is None else args)
        asked = "--json" in argv[:argv.index("--")] if "--" in argv else "--json" in argv
        if (asked or (app is not None and app.json)) and not (app is not None and app.emitted):
            import json

            click.echo(json.dumps({"error": message, "hint": hint, "exit_status": int(code)}, indent=2))
        return int(code)


_STOPPED = {128 + int(signal.SIGTERM): "stopped by SIGTERM", 128 + int(signal.SIGINT): "interrupted (SIGINT)"}


def _interrupted(error) -> int | None:
    """SIGTERM: exit 143, SIGINT (Ctrl-C): 130, each with one line; None when `error` is
    neither (a prompt's Abort)."""
    if isinstance(error, Terminated):
        click.echo("travelsync: stopped by SIGTERM; run the command again to resume", err=True)
        return 128 + int(signal.SIGTERM)
    if isinstance(error, KeyboardInterrupt):
        click.echo("travelsync: interrupted; run the command again to resume", err=True)
        return 128 + int(signal.SIGINT)
    return None
