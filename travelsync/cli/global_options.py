"""--config, --json, -q/--quiet and -v/--verbose, before the command or after it.

Users of git, restic and borg type `travelsync backup --if-due --quiet` as readily as
`travelsync --quiet backup --if-due`. One rule for every command: the global options are
also options of each command and sub-command (hidden from their own --help, named in the
main one), and set the same fields of the run's App as they do before the command. A
command that has an option of the same name keeps its own (mailer's --json does the same).
"""

import click

_PATCHED = "_travelsync_global_options"


def _set_config(ctx, _param, value):
    if value is not None:
        ctx.obj.config_option = value


def _set_json(ctx, _param, value):
    if value:
        ctx.obj.json = True


def _set_quiet(ctx, _param, value):
    if value:
        ctx.obj.verbosity = -1


def _set_verbose(ctx, _param, value):
    if value:
        from travelsync.cli.lazy import TravelsyncGroup

        ctx.obj.verbosity = max(ctx.obj.verbosity, 0) + value
        TravelsyncGroup.verbose = True


def _options() -> list[click.Option]:
    common = {"hidden": True, "expose_value": False, "is_eager": True}
    return [
        click.Option(["--config", "_global_config"], metavar="FILE", callback=_set_config, **common),
        click.Option(["--json", "_global_json"], is_flag=True, callback=_set_json, **common),
        click.Option(["-q", "--quiet", "_global_quiet"], is_flag=True, callback=_set_quiet, **common),
        click.Option(["-v", "--verbose", "_global_verbose"], count=True, callback=_set_verbose, **common),
    ]


def accept_global_options(command: click.Command) -> click.Command:
    """Give `command` (and, for a group, each of its sub-commands) the global options."""
    if getattr(command, _PATCHED, False):
        return command
    taken = {name for param in command.params for name in getattr(param, "opts", [])}
    command.params.extend(option for option in _options() if not taken & set(option.opts))
    setattr(command, _PATCHED, True)
    for sub in getattr(command, "commands", {}).values():
        accept_global_options(sub)
    return command
