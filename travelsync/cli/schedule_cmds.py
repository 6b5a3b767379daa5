"""`travelsync schedule show | run | install`: when backups run, and the three front ends."""

import click

from travelsync.exitcodes import ExitStatus


@click.group("schedule")
def schedule():
    """When backups run: next fire times, the scheduler daemon, cron/systemd files.

    \b
    One rule decides for every front end (docs/scheduling.md): the most recent
    scheduled slot (full slots on the full days, incremental slots on the others)
    is due when no run started at or after it; a missed full day makes the next run
    a full; a machine that was off for ten days makes one run, not ten.

    \b
    Front ends (choose one):
      cron       `schedule install --cron`: @hourly and @reboot `backup --if-due`
      systemd    `schedule install --systemd [--user]`: a timer with Persistent=true
      daemon     `schedule run`: an APScheduler process (foreground; for containers
                 or machines without cron/systemd)
    """


def _describe_zone(zone) -> str:
    return getattr(zone, "key", None) or str(zone)


def schedule_report(config, now, repository_runs=None, problem=None) -> dict:
    """The data of `schedule show` (also reusable by `status`)."""
    from travelsync.schedule.due import decide
    from travelsync.schedule.slots import next_runs, zone_for

    zone = zone_for(config.schedule)
    upcoming = next_runs(config.schedule, now, zone)
    data = {
        "timezone": _describe_zone(zone),
        "now": now.astimezone(zone).isoformat(),
        "full": {"schedule": config.schedule.full.text,
                 "next": upcoming["full"].isoformat() if upcoming["full"] else None},
        "incremental": {"schedule": config.schedule.incremental.text,
                        "next": upcoming["incremental"].isoformat() if upcoming["incremental"] else None},
        "due": None, "reason": problem, "last_run": None, "last_full": None,
    }
    if repository_runs is not None:
        decision = decide(config.schedule, repository_runs, now, zone)
        data.update(due=decision.kind, reason=decision.reason,
                    last_run=decision.last_run.isoformat() if decision.last_run else None,
                    last_full=decision.last_full.isoformat() if decision.last_full else None)
        if decision.ignored_future_runs:
            data["ignored_future_runs"] = decision.ignored_future_runs
    return data


def _human_show(data) -> str:
    from datetime import datetime

    def when(text):
        if not text:
            return "never"
        instant = datetime.fromisoformat(text)
        try:
            from zoneinfo import ZoneInfo

            instant = instant.astimezone(ZoneInfo(data["timezone"]))
        except Exception:  # a zone read from /etc/localtime without a name: keep the offset
            pass
        delta = instant - datetime.fromisoformat(data["now"])
        hours = int(delta.total_seconds() // 3600)
        ahead = f"in {hours // 24} d {hours % 24} h" if hours >= 24 else f"in {hours} h {int(delta.total_seconds() // 60) % 60} min"
        return f"{instant:%a %Y-%m-%d %H:%M %Z} ({ahead})"

    due = data["due"] or "nothing"
    lines = [
        f"zone         {data['timezone']}",
        f"full         {data['full']['schedule']:<12} next {when(data['full']['next'])}",
        f"incremental  {data['incremental']['schedule']:<12} next {when(data['incremental']['next'])}",
        f"due now      {due}" + (f": {data['reason']}" if data["reason"] else ""),
    ]
    return "\n".join(lines)


@schedule.command("show")
@click.pass_obj
def show(app):
    """Next full and incremental run (in the schedule's zone) and what is due now.

    \b
    "Due now" reads the repository's own record (complete snapshots and recorded
    no-change runs); an unreachable repository still shows the next runs.
    With --json: {timezone, now, full: {schedule, next}, incremental: {schedule, next},
    due: full|incremental|null, reason, last_run, last_full}.
    """
    from travelsync.errors import TravelsyncError

    config = app.config
    now = app.now()
    runs, problem = None, None
    try:
        from travelsync.repository import open_repository

        runs = open_repository(config, app.environ).successful_runs()
    except TravelsyncError as error:
        problem = f"unknown: {error.message}"
    app.emit(schedule_report(config, now, runs, problem), _human_show)
    return ExitStatus.SUCCESS if runs is not None else ExitStatus.WARNINGS


@schedule.command("run")
@click.option("--heartbeat", type=click.FloatRange(min=0.5), default=300.0, show_default=True, metavar="SECONDS",
              help="How often (running time) to look for a slot missed during a suspend.")
@click.option("--every", type=click.FloatRange(min=0.5), default=None, hidden=True,
              help="Testing only: also run `backup --auto` every SECONDS.")
@click.pass_obj
def run(app, heartbeat, every):
    """Run the scheduler daemon in the foreground until SIGTERM or Ctrl-C.

    \b
    At start, and at every full and incremental slot (APScheduler CronTrigger jobs,
    weekday names, coalesced, one at a time), it runs `travelsync backup --if-due` as a
    child process; a heartbeat catches slots that passed while the machine slept. A
    repository that missed a slot while the daemon was down gets exactly one catch-up
    run at start. SIGTERM stops a running backup at a safe point (its partial snapshot
    resumes next time), then the daemon exits 0. Logs go to stderr.
    Under systemd prefer `schedule install --systemd`; this is for machines without it.
    With `offsite:` copies, each copy without a `schedule:` is synced (`offsite sync NAME`)
    after every backup that succeeded; a copy with one is synced at its own times.
    """
    import sys
    from datetime import timezone

    from travelsync.schedule.daemon import Daemon, child_command, offsite_commands

    config = app.config  # fail now (exit 2) on a bad configuration, not at the first slot
    config_path = app.config_path.absolute()

    def log(message):
        stamp = app.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{stamp} travelsync schedule: {message}", file=app.stderr, flush=True)

    after_backup, offsite_jobs = offsite_commands(config_path, config.offsite)
    daemon = Daemon(config.schedule, child_command(config_path), log=log, heartbeat=heartbeat,
                    every=every, every_argv=child_command(config_path, "--auto"), now=app.now,
                    after_backup=after_backup, offsite_jobs=offsite_jobs)
    sys.stdout.flush()
    return daemon.run()


def _target(app, front, user, config_may_be_gone=False):
    """Where the schedule goes and whom it runs as: the owner of the configuration file (for
    uninstall after the file was deleted: the invoking user, whose schedule it then was)."""
    import os

    from travelsync.errors import ConfigError, UsageError
    from travelsync.schedule import target

    if front is None:
        raise UsageError("say which: --cron or --systemd [--user]")
    if user and front != "systemd":
        raise UsageError("--user goes with --systemd")
    config_path = app.config_path.expanduser().absolute()
    try:
        account = target.config_owner(config_path, app.environ)
    except ConfigError as error:
        if not config_may_be_gone or config_path.exists():
            raise
        account = target.Account.of_uid(os.geteuid())
        app.info(f"{error.message}: removing {account.name}'s schedule")
    return target.choose(front, user, os.geteuid(), account, config_path, app.environ), config_path


def _resolved_as_scheduled(config_path, account):
    """The config loaded as the schedule will load it (the owner's HOME, cron's or systemd's
    environment), and what `~` and `$VARS` then mean; or ConfigError saying so."""
    from travelsync.config import load_config
    from travelsync.errors import ConfigError

    environ = account.scheduled_environ()
    try:
        config = load_config(config_path, environ)
    except ConfigError as error:
        raise ConfigError(error.message, problems=error.problems,
                          hint=f"read as the schedule runs it: user {account.name}, HOME={account.home}, "
                               "no other variables of yours")
    return config, {"run_as": {"user": account.name, "home": account.home}, "config": str(config_path),
                    "repository": str(config.repository), "sources": {s.name: str(s.path) for s in config.sources}}


def _need_root_for(directory, user: bool) -> None:
    """Units in /etc/systemd/system are root's to write or remove: say so, exit 2 (a plain
    PermissionError was an internal error)."""
    import os

    from travelsync.errors import UsageError

    if not user and os.geteuid() != 0:
        raise UsageError(f"changing {directory} needs root", hint="use --user, or run it with sudo")


def _runs_as(d) -> str:
    sources = ", ".join(f"{name}={path}" for name, path in d["sources"].items())
    return f"runs as {d['run_as']['user']} (HOME {d['run_as']['home']}): backs up {sources} into {d['repository']}"


@schedule.command("install")
@click.option("--cron", "front", flag_value="cron", help="Add @hourly and @reboot lines to the crontab.")
@click.option("--systemd", "front", flag_value="systemd", help="Write travelsync-backup.service and .timer.")
@click.option("--user", is_flag=True, help="With --systemd: your user manager (~/.config/systemd/user), not /etc.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; change nothing.")
@click.pass_obj
def install(app, front, user, dry_run):
    """Install the cron lines or the systemd units for this machine's paths.

    \b
    Both call `travelsync --config FILE --quiet backup --if-due` (absolute paths of
    this installation and configuration): the due-rule decides, so firing hourly,
    at boot, or twice on the autumn DST night is harmless.
    The schedule runs as the user who owns the configuration file, with that user's
    home: `~` in the file means their home, whoever installs it.
    --cron     merges a marked block into the owner's crontab (other lines stay as
               they are); root may install into another user's crontab.
    --systemd  writes the units to /etc/systemd/system (as root; with User= the
               owner, named travelsync-backup-USER.* for a user other than root) or,
               with --user, to your ~/.config/systemd/user, then `systemctl [--user]
               daemon-reload` and `enable --now` the timer. For --user timers to run
               while you are logged out: `loginctl enable-linger $USER`.
    A path with a control character (newline, tab) is refused: exit 2. As root for
    another user, travelsync first runs `travelsync --version` as that user: when
    they cannot (a venv under /root), it says so and exits 3.
    """
    import os
    import shutil

    from travelsync.errors import UsageError
    from travelsync.schedule import install as render

    where, config_path = _target(app, front, user)
    config, resolved = _resolved_as_scheduled(config_path, where.account)
    data = {"front": front, "dry_run": dry_run, **resolved, "problems": []}
    invocation = render.this_machine(config_path)
    if os.geteuid() == 0 and where.account.uid != 0:
        data["problems"] += [p for p in [render.runnable_by(invocation, where.account)] if p]
    for problem in data["problems"]:
        app.warn(problem)
    if front == "cron":
        block = render.render_cron(invocation, offsite=bool(config.offsite))
        data.update(crontab_user=where.account.name, crontab_block=block)
        if dry_run:
            app.emit(data, lambda d: f"# {_runs_as(d)}\n" + d["crontab_block"].rstrip())
        else:
            render.install_cron(block, where.crontab_user)
            app.emit(data, lambda d: f"installed in {d['crontab_user']}'s crontab (`crontab -l` shows it); "
                                     f"{_runs_as(d)}")
        return ExitStatus.WARNINGS if data["problems"] else ExitStatus.SUCCESS

    files = render.render_systemd(invocation, config.schedule, shutil.which("systemd-inhibit"), user, where,
                                  offsite=bool(config.offsite))
    commands = [" ".join(argv) for argv in render.systemctl_argv(user, where.timer)]
    data.update(user=user, directory=str(where.directory), files=files, commands=commands)

    def human(d):
        if d["dry_run"]:
            parts = [f"# {d['directory']}/{name}\n{text}" for name, text in d["files"].items()]
            return f"# {_runs_as(d)}\n" + "\n".join(parts) + "\n# then: " + "; ".join(d["commands"])
        text = f"wrote {', '.join(d['files'])} to {d['directory']}; {_runs_as(d)}"
        if any(p.startswith("systemctl") for p in d["problems"]):
            text += "\nrun yourself: " + "; ".join(d["commands"])
        return text

    if dry_run:
        app.emit(data, human)
        return ExitStatus.WARNINGS if data["problems"] else ExitStatus.SUCCESS
    _need_root_for(where.directory, user)
    systemctl = render.install_systemd(files, where.directory, user)
    for problem in systemctl:
        app.warn(problem)
    data["problems"] += systemctl
    app.emit(data, human)
    return ExitStatus.WARNINGS if data["problems"] else ExitStatus.SUCCESS


@schedule.command("uninstall")
@click.option("--cron", "front", flag_value="cron", help="Remove travelsync's block from the crontab.")
@click.option("--systemd", "front", flag_value="systemd", help="Remove the units install wrote.")
@click.option("--user", is_flag=True, help="With --systemd: from your user manager (~/.config/systemd/user).")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.pass_obj
def uninstall(app, front, user, dry_run):
    """Remove exactly what `schedule install` wrote for this configuration.

    \b
    The same target as install (the configuration's owner; the configuration itself
    need not be valid any more): --cron removes the marked block from that user's
    crontab and nothing else (a crontab left empty is removed, as if there had been
    none); --systemd stops and disables the timer, removes the two unit files and
    reloads. A unit file that travelsync did not write (no marker on its first line)
    is left alone: exit 1.
    With --json: {front, dry_run, remove: [...], commands: [...], problems: [...]}.
    """
    from travelsync.schedule import install as render

    where, config_path = _target(app, front, user, config_may_be_gone=True)
    data = {"front": front, "dry_run": dry_run, "run_as": {"user": where.account.name, "home": where.account.home},
            "remove": [], "commands": [], "problems": []}
    if front == "cron":
        current = render.read_crontab(where.crontab_user)
        remaining = render.remove_block(current)
        if remaining != current:
            data["remove"] = [f"the travelsync block of {where.account.name}'s crontab"]
            if not dry_run:
                render.write_crontab(remaining, where.crontab_user)
    else:
        paths = render.written_units(where)
        data["remove"] = [str(path) for path in paths]
        if paths:
            data["commands"] = [" ".join(argv) for argv in render.systemctl_remove_argv(user, where.timer)]
            if not dry_run:
                _need_root_for(where.directory, user)
                data["problems"] = render.uninstall_systemd(where, paths)
    for problem in data["problems"]:
        app.warn(problem)

    def human(d):
        if not d["remove"]:
            return "nothing to remove: no travelsync schedule installed there"
        verb = "would remove" if d["dry_run"] else "removed"
        return f"{verb}: " + ", ".join(d["remove"]) + ("\nthen: " + "; ".join(d["commands"]) if d["dry_run"] and
                                                        d["commands"] else "")

    app.emit(data, human)
    return ExitStatus.WARNINGS if data["problems"] else ExitStatus.SUCCESS
