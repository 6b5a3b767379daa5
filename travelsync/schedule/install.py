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
from travelsync.errors import UsageError

BEGIN = "# BEGIN travelsync (managed by `travelsync schedule install --cron`)"
END = "# END travelsync"
SERVICE = "travelsync-backup.service"
TIMER = "travelsync-backup.timer"
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


def render_cron(invocation: Invocation) -> str:
    """A crontab block: check hourly and once after boot; `--if-due` decides."""
    argv = invocation.argv(*BACKUP_ARGS)
    refuse_control_characters(argv)
    command = " ".join(cron_quote(w) for w in argv)
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


def render_service(invocation: Invocation, inhibit: str | None, user: bool = False) -> str:
    """A oneshot service: low CPU and I/O priority, sleep inhibited while it runs.

    polkit lets any process block idle but only a process in a login session (or root) block
    sleep (org.freedesktop.login1.inhibit-block-sleep: allow_any=no); a user unit runs outside
    any session, so it blocks idle only: asking for sleep would make systemd-inhibit refuse and
    the backup never run.
    """
    argv = invocation.argv(*BACKUP_ARGS)
    if inhibit:
        what = "idle" if user else "sleep:idle"
        argv = [inhibit, f"--what={what}", "--who=travelsync", "--why=backup in progress", "--mode=block"] + argv
    return "\n".join([
        "[Unit]",
        "Description=travelsync backup (runs only when one is due)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=" + exec_start(argv),
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


def systemd_dir(user: bool, environ=None) -> Path:
    environ = os.environ if environ is None else environ
    if not user:
        return Path("/etc/systemd/system")
    base = environ.get("XDG_CONFIG_HOME")
    base = Path(base) if base and os.path.isabs(base) else Path(environ.get("HOME") or Path.home()) / ".config"
    return base / "systemd" / "user"


def render_systemd(invocation: Invocation, schedule: Schedule, inhibit: str | None,
                   user: bool = False) -> dict[str, str]:
    return {SERVICE: render_service(invocation, inhibit, user), TIMER: render_timer(schedule)}


def systemctl_argv(user: bool) -> list[list[str]]:
    scope = ["--user"] if user else []
    return [["systemctl", *scope, "daemon-reload"], ["systemctl", *scope, "enable", "--now", TIMER]]


# -- writing ------------------------------------------------------------------------------------

def install_cron(block: str) -> str:
    """Merge the block into the invoking user's crontab; return the new crontab."""
    from travelsync import process
    from travelsync.errors import TravelsyncError

    if shutil.which("crontab") is None:
        raise TravelsyncError("crontab: not installed, so there is no crontab to add to",
                              hint="install cron (apt install cron), or use `schedule install --systemd --user`")
    current = process.run(["crontab", "-l"], timeout=30)
    existing = current.text() if current.ok else ""  # "no crontab for USER" is an empty crontab
    merged = merge_crontab(existing, block)
    done = process.run(["crontab", "-"], input=merged.encode(), timeout=30)
    if not done.ok:
        raise TravelsyncError(f"crontab: {done.error_line()}")
    return merged


def install_systemd(files: dict[str, str], directory: Path, user: bool) -> list[str]:
    """Write the units, reload and enable the timer. Return problems with systemctl (files stay)."""
    from travelsync import process
    from travelsync.atomic import atomic_write

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        atomic_write(directory / name, text.encode(), mode=0o644)
    problems = []
    for argv in systemctl_argv(user):
        try:
            done = process.run(argv, timeout=60)
        except Exception as error:
            problems.append(f"{' '.join(argv)}: {error}")
            break
        if not done.ok:
            problems.append(f"{' '.join(argv)}: {done.error_line()}")
            break
    return problems
