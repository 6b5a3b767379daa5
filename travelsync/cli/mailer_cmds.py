"""`mailer status | keep | revert | detect`: mail clients to keep-on-server for a trip, and back."""

import click

from travelsync.exitcodes import ExitStatus

JSON_HELP = "Print one JSON document on stdout (same as the global --json)."
DRY_RUN_HELP = "Change nothing; print the unified diff of what would change (passwords masked)."


@click.group()
def mailer():
    """Show or switch mail clients: keep mail on the server during a trip, then put back the original.

    \b
    The clients are the `mailer:` entries of the configuration, each a `kind`
    (fetchmail getmail thunderbird mpop mutt claws evolution kmail mbsync offlineimap), an optional `file`
    (a local path or [user@]host:/path; default: the first of the client's usual files, or
    every one of them for getmail, Evolution and KMail, which keep one file per account)
    and optional `accounts` (default: every POP account or IMAP sync in the file).

    \b
    Safety: only POP accounts and IMAP syncs are changed, token by token (every other byte
    stays); the edited file is checked with the client's own parser where it is installed
    (on a private copy: no command the file names is run, nothing is written), then
    replaced atomically with the same mode and owner (a symlink's target is edited, the
    link stays). The original bytes are kept in $XDG_STATE_HOME/travelsync/mailer.json,
    never beside the client's file. A file that does not parse, is missing, unreadable, a
    directory, in a read-only folder, or in use (Thunderbird's lock, a user.js override)
    is refused: one line naming file and line, exit 1, nothing changed anywhere.

    \b
    After the trip: getmail, mpop, Thunderbird, KMail and Claws delete what they kept as
    soon as they are switched back; revert them only after home has fetched the trip's mail.

    \b
    Exit codes: 0 done; 1 refused or unreadable (nothing changed); 2 invalid
    configuration or unknown kind; 3 done, but a setting still deletes mail in keep
    mode (fetchmail flush/limitflush, getmail delete_after/delete_bigger_than, ...);
    75 another keep or revert is running (it holds $XDG_STATE_HOME/travelsync/mailer.lock;
    the message names it); nothing changed, try again later.
    See docs/mailer.md.
    """


def _use_json(app, as_json: bool) -> None:
    if as_json:
        app.json = True


def _human(reports) -> str:
    lines = []
    for report in reports:
        if report.error:
            lines.append(f"{report.kind} {report.file}: ERROR {report.error}")
            continue
        arrow = report.mode if report.mode == report.mode_before else f"{report.mode_before} -> {report.mode}"
        held = "; travelsync holds its original" if report.held else ""
        verb = {"status": "", "keep": " (would change)" if report.dry_run and report.changed else "",
                "revert": " (would change)" if report.dry_run and report.changed else ""}[report.action]
        lines.append(f"{report.kind} {report.file}: {arrow}{verb}{held}")
        width = max((len(a.name) for a in report.accounts), default=0)
        for account in report.accounts:
            lines.append(f"  {account.name:<{width}}  {account.protocol:<6} {account.mode}")
        if report.dry_run and report.diff:
            lines.append(report.diff.rstrip("\n"))
    return "\n".join(lines)


def _finish(app, reports, extra_warnings=()) -> ExitStatus:
    status = ExitStatus.SUCCESS
    app.emit({"files": [r.to_json() for r in reports], "warnings": list(extra_warnings)},
             lambda document: _human(reports))
    for report in reports:
        for note in report.notes:
            app.info(f"{report.kind} {report.file}: {note}")
        for warning in report.warnings:
            app.warn(warning)
            status = ExitStatus.WARNINGS
        if report.error:
            status = ExitStatus.FAILURE
    for warning in extra_warnings:
        app.warn(warning)
    return status


def _no_entries(app) -> bool:
    if not app.config.mailer:
        app.emit({"files": [], "warnings": []}, lambda d: None)
        app.info(f"{app.config_path}: no `mailer:` entries; nothing to do")
        return True
    return False


@mailer.command()
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
def status(app, as_json):
    """Show every configured client's accounts and whether each keeps or deletes mail.

    Modes: keep, delete, mixed (some POP accounts keep, some delete), unknown (no POP
    account, or one whose answer decides: mutt's ask-no/ask-yes). "travelsync holds its original" means a keep is in force that `revert` can
    undo. Exit 0; 1 when a file cannot be read or parsed; 3 when a setting still deletes
    mail in keep mode (fetchmail flush, getmail delete_after, ...).
    """
    from travelsync.mail import service

    _use_json(app, as_json)
    if _no_entries(app):
        return ExitStatus.SUCCESS
    return _finish(app, service.status(app.config, app.state_dir, environ=app.environ))


@mailer.command()
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
def keep(app, dry_run, as_json):
    """Switch every configured POP account to keep mail on the server.

    Idempotent: a file that already keeps is left alone. Every file is read, parsed,
    planned and checked first; if any is refused, nothing is changed anywhere (exit 1).
    Exit 3 when it worked but a setting still deletes mail (see the warnings); 75 when
    another keep or revert is running.
    """
    from travelsync.mail import service

    _use_json(app, as_json)
    if _no_entries(app):
        return ExitStatus.SUCCESS
    return _finish(app, service.keep(app.config, app.state_dir, dry_run=dry_run, environ=app.environ))


@mailer.command()
@click.option("--dry-run", is_flag=True, help=DRY_RUN_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
def revert(app, dry_run, as_json):
    """Put back what `keep` changed.

    When the file is exactly as keep left it, its original bytes are written back (same
    mode and owner). When it was edited since, only the settings travelsync changed are
    undone, and the output says so. A file travelsync holds no original for is left alone.
    Clients that delete what they kept once switched back are named in a warning: run
    this only after home has fetched the trip's mail.
    """
    from travelsync.mail import service

    _use_json(app, as_json)
    if _no_entries(app):
        return ExitStatus.SUCCESS
    reports = service.revert(app.config, app.state_dir, dry_run=dry_run, environ=app.environ)
    order = service.revert_order_warning(app.config) if any(r.changed for r in reports) else []
    return _finish(app, reports, order)


@mailer.command()
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_obj
def detect(app, as_json):
    """List the mail clients found on this machine: program and config files in the usual places.

    Needs no configuration. Copy a line into the `mailer:` section to manage that client.
    """
    import os
    from pathlib import Path

    from travelsync.mail.detect import detect as find

    _use_json(app, as_json)
    home = Path(app.environ.get("HOME") or os.path.expanduser("~"))
    found = find(home, app.environ)

    def human(data):
        lines = []
        for item in data["clients"]:
            lines.append(f"{item['kind']}: {item['program'] or 'program not installed'}")
            for entry in item["files"]:
                what = f"ERROR {entry['error']}" if entry["error"] else f"{entry['mode']}, {entry['accounts']} account(s)"
                lines.append(f"  {entry['file']}: {what}")
        return "\n".join(lines) or "no mail clients found"

    app.emit({"clients": [f.to_json() for f in found]}, human)
    return ExitStatus.SUCCESS
