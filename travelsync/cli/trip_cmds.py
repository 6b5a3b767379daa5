"""The trip: `prepare`, `finalize`, `return`, `status`, and the self-contained `demo`."""

import click

from travelsync.cli.restore_cmds import progress_bar

EXITS = ("\b\nExit status: 0 done; 3 done with warnings (preflight, mail, no new snapshot);\n"
         "2 out of order (the message names the command to run), bad path or configuration;\n"
         "75 laptop or repository unreachable (run it again), or skipped by a before_prepare\n"
         "hook; 1 failed.")


def _context(app, *, skip_preflight=False, label=""):
    from travelsync.trip.context import TripContext

    bar = progress_bar(app, label)
    context = TripContext(app.config, app.state_dir, app.now(), environ=dict(app.environ), info=app.info,
                          on_progress=bar.update if bar else None, skip_preflight=skip_preflight)
    return context, bar


def _run(app, step, label, **kwargs):
    from contextlib import nullcontext

    from travelsync.hooks import around
    from travelsync.trip.report import exit_status, human

    command = label.strip()
    hooks = nullcontext({}) if kwargs.get("dry_run") else around(app.config, command, environ=app.environ,
                                                                 warn=app.warn)
    with hooks as run:  # SIGTERM raises (cli/lazy.py): on_error runs as the run unwinds
        context, bar = _context(app, skip_preflight=kwargs.pop("skip_preflight", False), label=label)
        try:
            report = step(context, **kwargs)
        finally:
            if bar:
                bar.finish()
        run["status"] = exit_status(report)
        app.emit(report, human)
    return exit_status(report)


@click.command("prepare", epilog=EXITS)
@click.option("--dry-run", is_flag=True, help="Show what the restore and the mail switch would do; change nothing.")
@click.option("--skip-preflight", is_flag=True, help="Do not run the network checks.")
@click.pass_obj
def prepare(app, dry_run, skip_preflight):
    """The day before: restore the last full, mail keeps on server.

    Restores laptop.paths from the newest full snapshot onto the laptop (see `restore` for
    what is moved aside), switches every configured mail client at home to keep mail on the
    server, runs the network preflight when this machine is the laptop, and prints the plan
    for the night and the morning.  The snapshot is protected from `prune` until `return`.

    Interrupted (power cut, Ctrl-C, kill)?  Run `travelsync prepare` again: it resumes with
    the same snapshot and skips what is done.  The `hooks:` before_prepare commands run first
    (one exiting 75 skips prepare: exit 75), on_error when it fails (SIGTERM included).
    """
    from travelsync.trip.prepare import prepare as run

    return _run(app, run, "prepare ", dry_run=dry_run, skip_preflight=skip_preflight)


@click.command("finalize", epilog=EXITS)
@click.option("--dry-run", is_flag=True, help="Show what would change on the laptop; change nothing.")
@click.option("--backup-first", is_flag=True,
              help="When no snapshot was taken since prepare, take an incremental backup first.")
@click.option("--skip-preflight", is_flag=True, help="Do not run the network checks.")
@click.option("--full", is_flag=True,
              help="Compare the whole tree, not only what the snapshots' change lists name (see docs/trip.md).")
@click.pass_obj
def finalize(app, dry_run, backup_first, skip_preflight, full):
    """Departure morning: restore the latest delta, check, report.

    Brings the prepared paths up to the newest complete snapshot: rsync is given only the
    paths the snapshots' change lists name since the snapshot the laptop holds (--full:
    the whole tree, which also puts back laptop-side edits of files home did not change).  Checks that the laptop's restored mail configuration keeps mail
    on the server, runs the preflight again, and reports files, bytes and seconds.  When no
    snapshot was taken since prepare it says so (exit 3); --backup-first takes one first.
    Run it again after an interruption: it resumes.  The `hooks:` after_finalize commands
    run after a success, on_error when it fails (SIGTERM included).
    """
    from travelsync.trip.finalize import finalize as run

    return _run(app, run, "finalize ", dry_run=dry_run, backup_first=backup_first, skip_preflight=skip_preflight,
                full=full)


@click.command("return", epilog=EXITS)
@click.option("--sync-back", is_flag=True,
              help="First copy what changed on the laptop during the trip back home (a dry run is shown first; "
                   "a file changed on both sides keeps both, the laptop's as NAME.laptop-<time>).")
@click.option("--dry-run", is_flag=True, help="Show what would be copied and switched back; change nothing.")
@click.pass_obj
def return_(app, sync_back, dry_run):
    """After the trip: mail clients back, optional sync back home.

    Switches home's mail clients back to their original setting.  Clients that delete the
    messages they kept as soon as they are switched back (getmail, mpop, Thunderbird, KMail,
    Claws) must be switched back only after home has fetched the trip's mail: a warning
    says so.  Releases the trip's snapshots for `prune`.
    """
    from travelsync.trip.return_ import human, return_trip

    context, _ = _context(app)
    report = return_trip(context, sync_back=sync_back, dry_run=dry_run)
    app.emit(report, human)
    from travelsync.exitcodes import ExitStatus

    return ExitStatus.WARNINGS if report["warnings"] else ExitStatus.SUCCESS


@click.command("status")
@click.pass_obj
def status(app):
    """Trip state, last snapshots, next runs, mail-client modes.

    Shows the trip state (idle, prepared, finalized, returned, or a step to resume), the
    last full and the latest snapshot with their age and size, each mail client's mode and
    the next scheduled backups.  Parts that cannot be read are noted, never fatal.  With
    `offsite:` copies, each one's age as of its last `offsite sync` (JSON `offsite`); a copy
    older than its warn_after, or never synced, is a warning (exit 3).
    """
    from travelsync.trip.context import TripContext
    from travelsync.trip.status import collect, human

    context = TripContext(app.config, app.state_dir, app.now(), environ=dict(app.environ))
    data = collect(context)
    app.emit(data, human)
    from travelsync.exitcodes import ExitStatus

    return ExitStatus.WARNINGS if any(copy["warning"] for copy in data.get("offsite") or []) else ExitStatus.SUCCESS


@click.command("demo")
@click.option("--keep", is_flag=True, help="Leave the sandbox folder to explore (its path is printed).")
@click.option("--files", default=300, show_default=True, type=click.IntRange(10, 200000),
              help="Files in the sandbox home tree.")
@click.pass_obj
def demo(app, keep, files):
    """The whole journey in a temporary sandbox, with timings.

    Builds a home folder (a Maildir, code, notes, a .fetchmailrc), a repository and a laptop
    folder under a temp dir, then runs the real commands: a full backup, a few simulated
    days of changes and incrementals (the clock moved with TRAVELSYNC_NOW, no waiting),
    prepare, new mail and the nightly incremental, finalize, return.  Prints a timeline
    with the bytes and seconds of each step.  Touches nothing outside the sandbox.
    """
    from travelsync.demo.journey import run_demo

    result = run_demo(keep=keep, files=files, info=app.info)
    from travelsync.demo.timeline import human

    app.emit(result, human)
    from travelsync.exitcodes import ExitStatus

    return ExitStatus.SUCCESS if result["ok"] else ExitStatus.FAILURE
