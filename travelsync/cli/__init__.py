"""The command line: a thin layer that parses options and calls the library.

Each command lives in the module named in COMMANDS and is imported only when it runs.
"""

import click

from travelsync import __version__
from travelsync.cli.lazy import TravelsyncGroup
from travelsync.exitcodes import EXIT_CODE_HELP

COMMANDS = {
    "init": ("travelsync.cli.setup_cmds:init", "Write a commented starter configuration."),
    "config": ("travelsync.cli.setup_cmds:config", "Validate the configuration and print it resolved."),
    "backup": ("travelsync.cli.backup_cmds:backup", "Take a full or incremental snapshot of the sources."),
    "snapshots": ("travelsync.cli.backup_cmds:snapshots", "List the repository's snapshots."),
    "verify": ("travelsync.cli.backup_cmds:verify", "Compare a snapshot against its checksum manifest."),
    "prune": ("travelsync.cli.backup_cmds:prune", "Delete snapshots that the retention policy lets go."),
    "find": ("travelsync.cli.history_cmds:find", "Which snapshots hold files matching a pattern (manifests)."),
    "log": ("travelsync.cli.history_cmds:log", "The versions of one file across snapshots, newest first."),
    "diff": ("travelsync.cli.history_cmds:diff", "Files added, removed and changed between two snapshots."),
    "restore": ("travelsync.cli.restore_cmds:restore", "Copy paths from a snapshot onto the laptop, into a folder, or in place."),
    "prepare": ("travelsync.cli.trip_cmds:prepare", "The day before: restore the last full, mail keeps on server."),
    "finalize": ("travelsync.cli.trip_cmds:finalize", "Departure morning: restore the latest delta, check, report."),
    "return": ("travelsync.cli.trip_cmds:return_", "After the trip: mail clients back, optional sync back home."),
    "status": ("travelsync.cli.trip_cmds:status", "Trip state, last snapshots, next runs, mail-client modes."),
    "demo": ("travelsync.cli.trip_cmds:demo", "The whole journey in a temporary sandbox, with timings."),
    "mailer": ("travelsync.cli.mailer_cmds:mailer", "Show or switch mail clients: keep on server, revert."),
    "preflight": ("travelsync.cli.preflight_cmds:preflight", "Check IPv6, tunnel and NAT64 before leaving."),
    "nat64": ("travelsync.cli.nat64_cmds:nat64", "Discover NAT64 prefixes; synthesize and check addresses."),
    "offsite": ("travelsync.cli.offsite_cmds:offsite", "Off-site copies: sync, status, verify, restore."),
    "schedule": ("travelsync.cli.schedule_cmds:schedule", "Next runs, the scheduler daemon, cron/systemd files."),
}

EPILOG = ("Global options (--config, --json, -q, -v) may stand before the command or after it: "
          "`travelsync backup --if-due --quiet` is `travelsync --quiet backup --if-due`.\n\n"
          "\b\nExit codes:\n") + "\n".join(f"  {int(code):<3} {text}" for code, text in EXIT_CODE_HELP.items()) + (
    "\n\n\bConfiguration: --config, else $TRAVELSYNC_CONFIG, else\n"
    "$XDG_CONFIG_HOME/travelsync/config.yaml. State: $XDG_STATE_HOME/travelsync/.\n"
    "Shell completion: eval \"$(_TRAVELSYNC_COMPLETE=bash_source travelsync)\" (zsh_source, fish_source)."
)


@click.group(cls=TravelsyncGroup, lazy=COMMANDS, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_file", metavar="FILE", envvar=None,
              help="Configuration file (default: $TRAVELSYNC_CONFIG or $XDG_CONFIG_HOME/travelsync/config.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout (for scripts).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (for cron: mail only failures).")
@click.option("-v", "--verbose", count=True, help="More detail; tracebacks for internal errors.")
@click.version_option(__version__, "--version", prog_name="travelsync")
@click.pass_context
def cli(ctx, config_file, as_json, quiet, verbose):
    """travelsync: rsync snapshots of home, restored onto a laptop before a trip.

    \b
    The journey:
      backup      every night (a full on Sundays), from cron, systemd or `schedule run`
      prepare     the day before: last full → laptop, mail keeps on server, preflight
      finalize    departure morning: latest incremental → laptop (only the delta)
      return      after the trip: mail clients back to how they were
    """
    from travelsync.cli.app import App

    TravelsyncGroup.verbose = verbose > 0
    ctx.obj = TravelsyncGroup.app = App(config_option=config_file, json=as_json, verbosity=-1 if quiet else verbose)


def main():
    import sys

    # A file name that is not UTF-8 is printed as its own bytes (as ls does), never a crash
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    cli.main(prog_name="travelsync")
