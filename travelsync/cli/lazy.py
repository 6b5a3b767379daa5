"""A click group that imports a command's module only when that command runs.

`travelsync --help` must start in well under 150 ms, so the list of commands and their
one-line help live here as data, not as imported modules (sh, APScheduler and dnspython are
imported by the commands that need them and nowhere else).
"""

import importlib
import sys
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


class TravelsyncGroup(LazyGroup):
    """The top-level group: turns every outcome into one line and an exit status."""

    verbose = False
    app = None  # this run's App: under --json a failure prints the error document on stdout too

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        TravelsyncGroup.app = None
        try:
            result = super().main(args=args, prog_name=prog_name or "travelsync", complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except click.exceptions.Exit as done:
            code = done.exit_code
        except click.ClickException as error:
            error.show()
            code = ExitStatus.USAGE
        except click.Abort:
            click.echo("travelsync: aborted", err=True)
            code = ExitStatus.FAILURE
        except TravelsyncError as error:
            click.echo(f"travelsync: {error.message}", err=True)
            if error.hint:
                click.echo(f"hint: {error.hint}", err=True)
            code = int(error.exit_status)
            app = TravelsyncGroup.app
            if app is not None and app.json and not app.emitted:  # scripts read stdout: one document there
                import json

                click.echo(json.dumps({"error": error.message, "hint": error.hint, "exit_status": code}, indent=2))
        except KeyboardInterrupt:
            click.echo("travelsync: interrupted", err=True)
            code = 130
        except Exception as error:  # the one place an unexpected error is caught
            if TravelsyncGroup.verbose:
                traceback.print_exc()
            click.echo(f"travelsync: internal error: {type(error).__name__}: {error}", err=True)
            if not TravelsyncGroup.verbose:
                click.echo("hint: rerun with -v for the traceback", err=True)
            code = ExitStatus.FAILURE
        else:
            code = int(result) if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code
