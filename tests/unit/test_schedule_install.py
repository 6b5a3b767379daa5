"""cron and systemd files: they parse, name programs that exist, and agree with the due-rule."""

import os
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO_ROOT, need_programs
from travelsync.config.model import WEEKDAYS, Schedule, ScheduleSpec
from travelsync.schedule import install
from travelsync.schedule.daemon import cron_trigger_args, spec_gap
from travelsync.schedule.slots import next_runs

CRON_DIR = REPO_ROOT / "cron"
BERLIN = Schedule(ScheduleSpec(("sun",), 2, 30), ScheduleSpec(WEEKDAYS, 2, 30), "Europe/Berlin")


def cron_entries(text):
    """(schedule, command) of every crontab line that is not a comment."""
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("@"):
            when, command = line.split(None, 1)
        else:
            fields = line.split(None, 5)
            when, command = " ".join(fields[:5]), fields[5]
        entries.append((when, command))
    return entries


def simple_commands(command):
    """Split a cron command on && / ; into argv lists (cron's % is a newline: unescape \\%)."""
    words = shlex.split(command.replace("\\%", "%"))
    parts, current = [], []
    for word in words:
        if word in ("&&", ";", "||"):
            parts.append(current)
            current = []
        else:
            current.append(word)
    return parts + [current]


def strip_wrappers(argv):
    """nice -n N ionice -c N travelsync ... → travelsync ..."""
    while argv and argv[0] in ("nice", "ionice"):
        argv = argv[3:]
    return argv


def check_cron(text, resolve_travelsync):
    from croniter import croniter

    entries = cron_entries(text)
    assert [when for when, _ in entries] == ["@hourly", "@reboot"]
    for when, command in entries:
        assert when == "@reboot" or croniter.is_valid(when), when
        for argv in simple_commands(command):
            program = resolve_travelsync(argv[0]) if argv[0] == "travelsync" else argv[0]
            assert shutil.which(program), f"{program} named in the cron line does not exist"
        travelsync = strip_wrappers(simple_commands(command)[-1])
        assert travelsync[-3:] == ["--quiet", "backup", "--if-due"]
    return entries


def test_repository_cron_file_parses_and_names_existing_programs():
    check_cron((CRON_DIR / "travelsync.cron").read_text(), lambda _: str(Path(sys.executable).parent / "travelsync"))


def test_rendered_cron_uses_this_installation(tmp_path):
    invocation = install.this_machine(tmp_path / "my config.yaml")
    entries = check_cron(install.render_cron(invocation), lambda name: name)
    argv = strip_wrappers(simple_commands(entries[0][1])[-1])
    assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
    assert argv[1:3] == ["--config", str(tmp_path / "my config.yaml")]


def test_cron_line_is_a_valid_travelsync_invocation(cli_process, tmp_path):
    """The exact arguments of the cron line are accepted by the real program (`--help` proves parsing)."""
    entries = cron_entries((CRON_DIR / "travelsync.cron").read_text())
    argv = strip_wrappers(simple_commands(entries[0][1])[-1])
    result = cli_process(*argv[1:], "--help")
    assert result.exit_code == 0, result.stderr
    assert "--if-due" in result.stdout


def test_percent_is_escaped_for_cron(tmp_path):
    text = install.render_cron(install.Invocation(("/opt/t s/travelsync",), Path("/cfg/100%.yaml")))
    line = cron_entries(text)[0][1]
    assert "100\\%.yaml" in line and "'/opt/t s/travelsync'" in line


def test_merge_crontab_keeps_other_lines_and_replaces_the_block():
    block = install.render_cron(install.GENERIC)
    mine = "MAILTO=me\n0 5 * * * /usr/bin/other-job\n"
    once = install.merge_crontab(mine, block)
    assert once.startswith(mine) and once.count(install.BEGIN) == 1
    newer = block.replace("sleep 120", "sleep 60")
    twice = install.merge_crontab(once + "# after\n", newer)
    assert twice.count(install.BEGIN) == 1 and "sleep 60" in twice and "sleep 120" not in twice
    assert twice.startswith(mine) and twice.endswith("# after\n")


def test_repository_files_are_the_rendered_examples():
    """cron/ holds exactly what `schedule install` renders for a generic machine (kept in sync)."""
    assert (CRON_DIR / "travelsync.cron").read_text() == install.render_cron(install.GENERIC)
    for name, text in install.render_systemd(install.GENERIC, Schedule(), install.GENERIC_INHIBIT).items():
        assert (CRON_DIR / name).read_text() == text, name


def systemd_verify(folder):
    done = subprocess.run(["systemd-analyze", "verify", install.TIMER, install.SERVICE],
                          cwd=folder, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


def test_repository_units_pass_systemd_analyze_verify(tmp_path):
    need_programs("systemd-analyze")
    for name in (install.SERVICE, install.TIMER):
        shutil.copy(CRON_DIR / name, tmp_path / name)
    assert systemd_verify(tmp_path) == (0, "")


@pytest.mark.parametrize("inhibit", [True, False], ids=["with-systemd-inhibit", "without"])
@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_rendered_units_pass_systemd_analyze_verify(tmp_path, inhibit, user):
    need_programs("systemd-analyze", "systemd-inhibit")
    invocation = install.this_machine(tmp_path / "config.yaml")
    schedule = Schedule(ScheduleSpec(("sat", "sun"), 4, 5), ScheduleSpec(WEEKDAYS, 23, 45), "America/Los_Angeles")
    files = install.render_systemd(invocation, schedule, shutil.which("systemd-inhibit") if inhibit else None, user)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert systemd_verify(tmp_path) == (0, "")
    service = files[install.SERVICE]
    assert "Nice=19" in service and "IOSchedulingClass=idle" in service
    # polkit: only root or a session may block sleep; a user unit blocks idle (else it would never run)
    assert ("systemd-inhibit --what=sleep:idle " in service) == (inhibit and not user)
    assert ("systemd-inhibit --what=idle " in service) == (inhibit and user)
    timer = files[install.TIMER]
    assert "Persistent=true" in timer and "OnCalendar=hourly" in timer
    assert "OnCalendar=Sat,Sun *-*-* 04:05:00 America/Los_Angeles" in timer
    assert "OnCalendar=*-*-* 23:45:00 America/Los_Angeles" in timer


def systemd_next(calendar, base):
    done = subprocess.run(["systemd-analyze", "calendar", f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC", calendar],
                          capture_output=True, text=True, timeout=30, env={**os.environ, "TZ": "UTC"})
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if "Next elapse:" in l)
    return datetime.strptime(line.split("Next elapse:")[1].strip(), "%a %Y-%m-%d %H:%M:%S UTC").replace(
        tzinfo=timezone.utc)


@pytest.mark.parametrize("base", [datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc),
                                  datetime(2026, 10, 24, 12, 0, tzinfo=timezone.utc)],
                         ids=["ordinary-week", "autumn-dst-night"])
def test_timer_calendar_agrees_with_the_slots(base):
    """systemd's OnCalendar and our slot arithmetic name the same instant for the next full."""
    need_programs("systemd-analyze")
    timer = install.render_timer(Schedule(ScheduleSpec(("sun",), 2, 30), ScheduleSpec(WEEKDAYS, 4, 0),
                                          "Europe/Berlin"))
    calendar = next(l for l in timer.splitlines() if l.startswith("OnCalendar=Sun")).split("=", 1)[1]
    ours = next_runs(Schedule(ScheduleSpec(("sun",), 2, 30), ScheduleSpec(WEEKDAYS, 4, 0), "Europe/Berlin"), base)
    # in UTC: PEP 495 makes an ambiguous local time compare unequal to every other zone's
    assert systemd_next(calendar, base) == ours["full"].astimezone(timezone.utc)


def test_systemd_skips_the_missing_spring_time_so_the_timer_also_fires_hourly():
    """Measured: OnCalendar 02:30 Europe/Berlin has no elapse on 2026-03-29; our slot does (03:00 CEST)."""
    need_programs("systemd-analyze")
    base = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)
    assert systemd_next("*-*-* 02:30:00 Europe/Berlin", base).date().isoformat() == "2026-03-30"
    ours = next_runs(BERLIN, base)["full"]
    assert ours.astimezone(ZoneInfo("Europe/Berlin")).isoformat() == "2026-03-29T03:00:00+02:00"
    assert "OnCalendar=hourly" in install.render_timer(BERLIN)


def test_daemon_triggers_use_weekday_names_and_fire_on_sunday():
    """APScheduler 3.x reads day_of_week=0 as Monday: names avoid it. The full job fires on Sunday."""
    from apscheduler.triggers.cron import CronTrigger

    args = cron_trigger_args(BERLIN.full)
    assert args["day_of_week"] == "sun"
    zone = ZoneInfo("Europe/Berlin")
    trigger = CronTrigger(timezone=zone, **args)
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 25, 12, 0, tzinfo=zone))
    assert fire == datetime(2026, 11, 29, 2, 30, tzinfo=zone)
    assert spec_gap(BERLIN.full).days == 7 and spec_gap(BERLIN.incremental).days == 1


def write_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {tmp_path}\n"
                    "schedule:\n  timezone: Europe/Berlin\n")
    return path


def test_install_cron_dry_run_prints_the_block(cli, tmp_path):
    config = write_config(tmp_path)
    result = cli("--config", config, "schedule", "install", "--cron", "--dry-run")
    assert result.exit_code == 0
    assert install.BEGIN in result.stdout and f"--config {config}" in result.stdout


def test_install_systemd_user_writes_units(cli, tmp_path, isolated_dirs):
    """Files land in $XDG_CONFIG_HOME/systemd/user; without a user manager systemctl fails: exit 3, files kept."""
    need_programs("systemd-analyze")
    config = write_config(tmp_path)
    result = cli("--config", config, "--json", "schedule", "install", "--systemd", "--user")
    folder = isolated_dirs / "config" / "systemd" / "user"
    assert sorted(p.name for p in folder.iterdir()) == [install.SERVICE, install.TIMER]
    assert result.json["directory"] == str(folder)
    assert result.exit_code == (3 if result.json["problems"] else 0)
    assert systemd_verify(folder) == (0, "")
    (folder / "mine.service").write_text("[Service]\nExecStart=/bin/true\n")
    gone = cli("--config", config, "--json", "schedule", "uninstall", "--systemd", "--user")
    assert gone.exit_code in (0, 3) and sorted(gone.json["remove"]) == [str(folder / install.SERVICE),
                                                                         str(folder / install.TIMER)]
    assert [p.name for p in folder.iterdir()] == ["mine.service"], "exactly what install wrote is removed"


def test_install_needs_a_front_end(cli, tmp_path):
    config = write_config(tmp_path)
    assert cli("--config", config, "schedule", "install").exit_code == 2
    assert cli("--config", config, "schedule", "install", "--cron", "--user").exit_code == 2


def test_install_cron_without_crontab_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = cli("--config", write_config(tmp_path), "schedule", "install", "--cron")
    assert result.exit_code == 1 and "crontab: not installed" in result.stderr


# -- the daemon's check logic, with real `true`/`false` children and a fake clock ------------------

def make_daemon(argv, clock_box):
    from travelsync.schedule.daemon import Daemon

    lines = []
    daemon = Daemon(BERLIN, argv, log=lines.append, now=lambda: clock_box[0], heartbeat=1)
    return daemon, lines


def test_heartbeat_runs_once_per_slot():
    need_programs("true")
    box = [datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))]
    daemon, _ = make_daemon(["true"], box)
    daemon.check("start")
    assert daemon.runs == 1
    for _ in range(3):
        daemon.check("heartbeat")
    assert daemon.runs == 1, "the slot is handled: heartbeats do not run again"
    box[0] += timedelta(days=1)  # the machine slept through the next 02:30
    daemon.check("heartbeat")
    daemon.check("heartbeat")
    assert daemon.runs == 2


def test_failed_run_is_retried_later_not_at_every_heartbeat(monkeypatch):
    need_programs("false")
    from travelsync.schedule import daemon as daemon_module

    box = [datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))]
    daemon, lines = make_daemon(["false"], box)
    daemon.check("start")
    daemon.check("heartbeat")
    assert daemon.runs == 1 and "backup exited 1" in lines[-1]
    monkeypatch.setattr(daemon_module, "RETRY_SECONDS", 0)
    daemon.check("start")  # sets a retry time of "now"
    daemon.check("heartbeat")
    assert daemon.runs == 3


def test_no_run_after_stop():
    box = [datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))]
    daemon, _ = make_daemon(["true"], box)
    daemon.stop()
    daemon.check("start")
    assert daemon.runs == 0


def test_schedule_show_json(cli, tmp_path):
    config = write_config(tmp_path)
    result = cli("--config", config, "--json", "schedule", "show", env={"TRAVELSYNC_NOW": "2026-11-21T23:00:00+01:00"})
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["timezone"] == "Europe/Berlin"
    assert data["full"] == {"schedule": "sun 02:30", "next": "2026-11-22T02:30:00+01:00"}
    assert data["incremental"] == {"schedule": "daily 02:30", "next": "2026-11-23T02:30:00+01:00"}
    assert data["due"] == "full" and data["reason"] == "no full snapshot exists yet"
    human = cli("--config", config, "schedule", "show", env={"TRAVELSYNC_NOW": "2026-11-21T23:00:00+01:00"})
    assert "next Sun 2026-11-22 02:30 CET (in 3 h 30 min)" in human.stdout


def test_daemon_jobs_coalesce_one_at_a_time_with_a_grace_as_long_as_the_gap():
    box = [datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))]
    daemon, _ = make_daemon(["true"], box)
    scheduler = daemon.build()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"full", "incremental", "heartbeat", "start"}
    for job_id, days in (("full", 7), ("incremental", 1)):
        job = jobs[job_id]
        assert job.coalesce and job.max_instances == 1
        assert job.misfire_grace_time == days * 86400
    assert str(jobs["full"].trigger.fields[4]) == "sun", "day_of_week by name"
    assert jobs["heartbeat"].misfire_grace_time is None, "after a suspend the heartbeat runs however late"


# -- whom a schedule runs as (issue 15, finding 12) ------------------------------------------------

from travelsync.errors import UsageError  # noqa: E402
from travelsync.schedule import target  # noqa: E402

ROOT = target.Account("root", 0, "/root", "/bin/sh")
MARC = target.Account("marc", 1000, "/home/marc", "/bin/bash")


def test_a_schedule_runs_as_the_owner_of_the_config():
    cron = target.choose("cron", False, 0, MARC, "/home/marc/c.yaml", {})
    assert cron.crontab_user == "marc"
    own = target.choose("cron", False, 1000, MARC, "/home/marc/c.yaml", {})
    assert own.crontab_user is None, "a user writes their own crontab without -u"
    unit = target.choose("systemd", False, 0, MARC, "/home/marc/c.yaml", {})
    assert (unit.service, unit.timer, unit.run_as) == ("travelsync-backup-marc.service", "travelsync-backup-marc.timer",
                                                       "marc")
    roots = target.choose("systemd", False, 0, ROOT, "/etc/travelsync.yaml", {})
    assert (roots.service, roots.run_as) == (install.SERVICE, "root")
    mine = target.choose("systemd", True, 1000, MARC, "/home/marc/c.yaml", {"HOME": "/home/marc"})
    assert (mine.service, mine.run_as, mine.directory) == (install.SERVICE, None, Path("/home/marc/.config/systemd/user"))


@pytest.mark.parametrize("front, user, invoker, owner", [
    ("cron", False, 1000, ROOT),  # a user may not schedule root's configuration
    ("systemd", False, 1001, MARC),  # nor another user's
    ("systemd", True, 0, MARC),  # root's user manager is no place for marc's schedule
])
def test_installing_for_someone_else_is_refused(front, user, invoker, owner):
    with pytest.raises(UsageError) as caught:
        target.choose(front, user, invoker, owner, "/x/c.yaml", {})
    assert owner.name in caught.value.message


@pytest.mark.parametrize("where", [
    target.Target("systemd", ROOT, directory=target.SYSTEM_DIR),
    target.Target("systemd", MARC, directory=target.SYSTEM_DIR),
    target.Target("systemd", MARC, user_manager=True, directory=Path("/home/marc/.config/systemd/user")),
], ids=["system-root", "system-user", "user-manager"])
def test_every_unit_install_writes_passes_systemd_analyze_verify(tmp_path, where):
    """Without --man=no: a Documentation= page that is not installed failed verify before."""
    need_programs("systemd-analyze", "systemd-inhibit")
    files = install.render_systemd(install.this_machine(tmp_path / "c.yaml"), BERLIN, shutil.which("systemd-inhibit"),
                                   where.user_manager, where)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        assert text.startswith(install.MARKER + "\n")
    done = subprocess.run(["systemd-analyze", "verify", *files], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    service = files[where.service]
    assert ("\nUser=" in service) == (not where.user_manager)
    assert ("--what=sleep:idle" in service) == (where.account.uid == 0 and not where.user_manager)


def test_remove_block_leaves_every_other_line():
    mine = "MAILTO=me\n0 5 * * * /usr/bin/other-job 50\\% done\n"
    merged = install.merge_crontab(mine, install.render_cron(install.GENERIC)) + "# after\n"
    assert install.remove_block(merged) == mine + "# after\n"
    assert install.remove_block(mine) == mine


def test_uninstall_after_the_configuration_was_deleted_removes_what_install_wrote(cli, tmp_path, isolated_dirs):
    """Deleting the configuration first is the natural order for someone giving travelsync up;
    uninstall then still finds the schedule (the invoking user's), instead of suggesting `init`."""
    need_programs("systemd-analyze")
    config = write_config(tmp_path)
    cli("--config", config, "schedule", "install", "--systemd", "--user")
    folder = isolated_dirs / "config" / "systemd" / "user"
    assert sorted(p.name for p in folder.iterdir()) == [install.SERVICE, install.TIMER]
    config.unlink()
    gone = cli("--config", config, "--json", "schedule", "uninstall", "--systemd", "--user")
    assert "travelsync init" not in gone.stderr, gone.stderr
    assert sorted(gone.json["remove"]) == [str(folder / install.SERVICE), str(folder / install.TIMER)]
    assert not any(folder.iterdir())
    assert f"{config}: no configuration file here" in gone.stderr  # said, as a note
