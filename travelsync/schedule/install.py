"""cron and systemd files for this machine: rendering (pure) apart from writing (side effects).

Both front ends only wake travelsync up; `backup --if-due` asks the one due-rule
(`travelsync.schedule.due`) whether anything should run, so a timer that fires twice (the
autumn DST night) or late (after a suspend, at boot) never makes a second or a wrong run.
"""

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from travelsync.config.model import WEEKDAYS, Schedule, ScheduleSpec
from travelsync.errors import TravelsyncError, UsageError
from travelsync.schedule.target import SERVICE, TIMER, Target

BEGIN = "# BEGIN travelsync (managed by `travelsync schedule install --cron`)"
END = "# END travelsync"
MARKER = "# Written by `travelsync schedule install`; `travelsync schedule uninstall` removes it."
REBOOT_DELAY = 120  # seconds after boot: let the network and the NAS come up first


@dataclass(frozen=True)
class Invocation:
    """How cron and systemd call travelsync here: the program's argv and the config file."""

    program: tuple[str, ...]
    config: Path | None  # None: the default ($TRAVELSYNC_CONFIG, else ~/.config/travelsync/config.yaml)

    def argv(self, *args: str) -> list[str]:
        config = ["--config", str(self.config)] if self.config else []
        return [*self.program, *config, *args]


GENERIC = Invocation(("travelsync",), None)  # the examples in cron/: travelsync on PATH, default config
GENERIC_INHIBIT = "/usr/bin/systemd-inhibit"


def this_machine(config_path) -> Invocation:
    """The travelsync of this installation (its venv's script, else `python -m travelsync`)."""
    script = Path(sys.executable).parent / "travelsync"
    if script.is_file() and os.access(script, os.X_OK):
        program = (str(script),)
    else:
        found = shutil.which("travelsync")
        program = (found,) if found else (sys.executable, "-m", "travelsync")
    return Invocation(program, Path(config_path).expanduser().absolute())


BACKUP_ARGS = ("--quiet", "backup", "--if-due")
OFFSITE_ARGS = ("--quiet", "offsite", "sync", "--if-due")  # after the backup, with `offsite:` copies


def runnable_by(invocation: Invocation, account) -> str | None:
    """As root, for another user's schedule: run `travelsync --version` as that user, in the
    environment cron gives them. Return what went wrong (e.g. a venv under /root that they
    cannot enter), or None. The schedule would otherwise fail at every run, unseen."""
    import pwd

    from travelsync import process

    gid = pwd.getpwnam(account.name).pw_gid
    argv = ["setpriv", f"--reuid={account.uid}", f"--regid={gid}", "--init-groups", *invocation.program, "--version"]
    try:
        done = process.run(argv, timeout=60, env=account.scheduled_environ())
    except TravelsyncError as error:
        return f"could not try whether {account.name} can run {invocation.program[0]}: {error.message}"
    if done.ok:
        return None
    return f"{account.name} cannot run {' '.join(invocation.program)}: {done.error_line()}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(words) -> None:
    """A crontab and a unit file are line-based: a newline (or any control character) in a
    path would end the line and start another, e.g. an injected cron job. No quoting
    survives that, so such a path is refused (exit 2) before anything is written."""
    for word in words:
        if _CONTROL.search(word):
            raise UsageError(f"{word!r}: a path with a control character (newline, tab, escape, …) cannot go "
                             "into a crontab line or a unit file", hint="rename the file or folder, or move it")


# -- cron ---------------------------------------------------------------------------------------

def cron_quote(word: str) -> str:
    """Shell-quote for a crontab command: cron turns an unescaped % into a newline (the rest of
    the line becomes standard input) and hands `\\%` to the shell as %, even inside quotes."""
    return shlex.quote(word).replace("%", "\\%")


def render_cron(invocation: Invocation, offsite: bool = False) -> str:
    """A crontab block: check hourly and once after boot; `--if-due` decides. `offsite`: then
    `offsite sync --if-due` (after a backup that did not fail)."""
    argv = invocation.argv(*BACKUP_ARGS)
    refuse_control_characters(argv)
    command = " ".join(cron_quote(w) for w in argv)
    if offsite:
        command += " && " + " ".join(cron_quote(w) for w in invocation.argv(*OFFSITE_ARGS))
    return "\n".join([
        BEGIN,
        "# Hourly: a backup runs only when one is due (full on the full days, else incremental);",
        "# a machine that was off or asleep catches up once. See docs/scheduling.md.",
        f"@hourly nice -n 19 ionice -c 3 {command}",
        f"@reboot sleep {REBOOT_DELAY} && nice -n 19 ionice -c 3 {command}",
        END,
        "",
    ])


def merge_crontab(existing: str, block: str) -> str:
    """Replace the managed block in a crontab (or append it); every other line stays as it was."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(existing):
        return pattern.sub(lambda _: block, existing, count=1)
    if existing and not existing.endswith("\n"):
        existing += "\n"
    return existing + block


# -- systemd ------------------------------------------------------------------------------------

def unit_quote(word: str) -> str:
    """Quote one argument for ExecStart= by systemd.service(5)'s rules: % starts a specifier
    (%% is a literal %), $ a variable substituted at run time ($$ is a literal $), and inside
    double quotes a backslash escapes."""
    word = word.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_program(path: str) -> str:
    """Quote ExecStart='s program: systemd takes its path literally but for specifiers (no $
    substitution) and refuses one with quotes or backslashes ("Executable name contains
    special characters", measured with systemd 252), so such a path is refused here first."""
    if re.search(r"[\\\"']", path):
        raise UsageError(f"{path}: systemd cannot run a program whose path holds quotes or backslashes",
                         hint="install travelsync at a plainer path, or use `schedule install --cron`")
    word = path.replace("%", "%%")
    return word if re.fullmatch(r"[\w@%+=:,./$-]+", word) else f'"{word}"'


def exec_start(argv) -> str:
    refuse_control_characters(argv)
    return " ".join([unit_program(argv[0]), *(unit_quote(w) for w in argv[1:])])


def render_service(invocation: Invocation, inhibit: str | None, user: bool = False, run_as: str | None = None,
                   offsite: bool = False) -> str:
    """A oneshot service: low CPU and I/O priority, sleep inhibited while it runs.

    `run_as`: `User=` of a system unit (the config's owner; systemd then sets HOME, USER and
    LOGNAME from the password database, so `~` in the config is that user's home).
    polkit lets any process block idle but only a process in a login session (or root) block
    sleep (org.freedesktop.login1.inhibit-block-sleep: allow_any=no); a user unit, or a system
    unit running as a user, runs outside any session, so it blocks idle only: asking for sleep
    would make systemd-inhibit refuse and the backup never run.
    """
    argv = invocation.argv(*BACKUP_ARGS)
    if inhibit:
        what = "idle" if user or run_as not in (None, "root") else "sleep:idle"
        argv = [inhibit, f"--what={what}", "--who=travelsync", "--why=backup in progress", "--mode=block"] + argv
    return "\n".join([
        MARKER,
        "[Unit]",
        "Description=travelsync backup (runs only when one is due)",
        "# travelsync schedule --help; docs/scheduling.md",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        *([f"User={run_as}"] if run_as else []),
        "ExecStart=" + exec_start(argv),
        *(["# then the off-site copies (docs/offsite.md), when the backup did not fail",
           "ExecStart=" + exec_start(invocation.argv(*OFFSITE_ARGS))] if offsite else []),
        "Nice=19",
        "IOSchedulingClass=idle",
        "CPUSchedulingPolicy=batch",
        "# 3: completed with warnings; 75: repository locked or unreachable, the next check retries",
        "SuccessExitStatus=3 75",
        "# SIGTERM stops rsync at a safe point; the partial snapshot resumes next time",
        "TimeoutStopSec=2min",
        "",
    ])


def calendar_days(spec: ScheduleSpec) -> str:
    if set(spec.days) == set(WEEKDAYS):
        return ""
    return ",".join(day.capitalize() for day in WEEKDAYS if day in spec.days) + " "


def render_timer(schedule: Schedule) -> str:
    """OnCalendar= at the configured slots, plus hourly (after a suspend or a failed try)."""
    zone = f" {schedule.timezone}" if schedule.timezone else ""
    calendars = []
    full, incremental = schedule.full, schedule.incremental
    covered = (full.hour, full.minute) == (incremental.hour, incremental.minute) and \
        set(full.days) <= set(incremental.days)
    for spec in ((incremental,) if covered else (full, incremental)):
        line = f"OnCalendar={calendar_days(spec)}*-*-* {spec.hour:02d}:{spec.minute:02d}:00{zone}"
        if line not in calendars:
            calendars.append(line)
    return "\n".join([
        MARKER,
        "[Unit]",
        "Description=travelsync: back up when due (full and incremental slots, hourly catch-up)",
        "",
        "[Timer]",
        *calendars,
        "OnCalendar=hourly",
        "# A slot missed while the machine was off runs once at boot",
        "Persistent=true",
        "AccuracySec=1min",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])


def render_systemd(invocation: Invocation, schedule: Schedule, inhibit: str | None, user: bool = False,
                   target: Target | None = None, offsite: bool = False) -> dict[str, str]:
    """The service and the timer, named for `target` (default: travelsync-backup.*, no User=)."""
    service, timer = (target.service, target.timer) if target else (SERVICE, TIMER)
    run_as = target.run_as if target else None
    return {service: render_service(invocation, inhibit, user, run_as, offsite), timer: render_timer(schedule)}


def systemctl_argv(user: bool, timer: str = TIMER) -> list[list[str]]:
    scope = ["--user"] if user else []
    return [["systemctl", *scope, "daemon-reload"], ["systemctl", *scope, "enable", "--now", timer]]


def systemctl_remove_argv(user: bool, timer: str = TIMER) -> tuple[list[str], list[str]]:
    """Before the files go (stop and disable the timer), and after (forget the units)."""
    scope = ["--user"] if user else []
    return ["systemctl", *scope, "disable", "--now", timer], ["systemctl", *scope, "daemon-reload"]


def remove_block(crontab: str) -> str:
    """The crontab without travelsync's block: every other line exactly as it was."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    return pattern.sub("", crontab, count=1)


# -- writing ------------------------------------------------------------------------------------

def _crontab(crontab_user: str | None, *args: str, input: bytes | None = None):
    from travelsync import process

    if shutil.which("crontab") is None:
        raise TravelsyncError("crontab: not installed, so there is no crontab to change",
                              hint="install cron (apt install cron), or use `schedule install --systemd --user`")
    return process.run(["crontab", *(["-u", crontab_user] if crontab_user else []), *args], input=input, timeout=30)


def read_crontab(crontab_user: str | None = None) -> str:
    """The crontab of `crontab_user` (None: ours); "no crontab for USER" reads as empty."""
    current = _crontab(crontab_user, "-l")
    return current.text() if current.ok else ""


def write_crontab(text: str, crontab_user: str | None = None) -> None:
    """Install `text` as the crontab; an empty one is removed, as if there had never been one."""
    done = _crontab(crontab_user, "-", input=text.encode()) if text.strip() else _crontab(crontab_user, "-r")
    if not done.ok:
        raise TravelsyncError(f"crontab: {done.error_line()}")


def install_cron(block: str, crontab_user: str | None = None) -> str:
    """Merge the block into the crontab (ours, or `crontab_user`'s as root); return the new crontab."""
    merged = merge_crontab(read_crontab(crontab_user), block)
    write_crontab(merged, crontab_user)
    return merged


def _systemctl(argv) -> str | None:
    """Run one systemctl command; return the problem, or None."""
    from travelsync import process

    try:
        done = process.run(argv, timeout=60)
    except TravelsyncError as error:
        return f"{' '.join(argv)}: {error.message}"
    return None if done.ok else f"{' '.join(argv)}: {done.error_line()}"


def install_systemd(files: dict[str, str], directory: Path, user: bool) -> list[str]:
    """Write the units, reload and enable the timer. Return problems with systemctl (files stay)."""
    from travelsync.atomic import atomic_write

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        atomic_write(directory / name, text.encode(), mode=0o644)
    timer = next(name for name in files if name.endswith(".timer"))
    for argv in systemctl_argv(user, timer):
        problem = _systemctl(argv)
        if problem:
            return [problem]
    return []


def written_units(target: Target) -> list[Path]:
    """The unit files install wrote for `target` that are still there. Raise when one of them
    was not written by travelsync (no marker on its first line): that file is left alone."""
    found = []
    for name in (target.service, target.timer):
        path = target.directory / name
        if not path.exists() and not path.is_symlink():
            continue
        first = ""
        if not path.is_symlink():
            with open(path, "rb") as handle:
                first = handle.readline().decode("utf-8", "replace").rstrip("\n")
        if first != MARKER:
            raise TravelsyncError(f"{path}: not written by `travelsync schedule install`; left alone",
                                  hint="remove it yourself if it is yours to remove")
        found.append(path)
    return found


def uninstall_systemd(target: Target, paths: list[Path]) -> list[str]:
    """Stop and disable the timer, remove exactly `paths` (and the timer's enable link if systemctl
    could not), reload. Return problems with systemctl (the files are removed regardless)."""
    before, after = systemctl_remove_argv(target.user_manager, target.timer)
    problems = [p for p in [_systemctl(before)] if p]
    for path in paths:
        path.unlink()
    link = target.directory / "timers.target.wants" / target.timer
    if link.is_symlink() and os.readlink(link) == str(target.directory / target.timer):
        link.unlink()
    problems += [p for p in [_systemctl(after)] if p]
    return problems
