"""The off-site copy's pure parts: which snapshots it lacks, what each links to, its age,
the rsync passes, and the `offsite:` configuration checks."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from travelsync.config.model import RsyncSettings
from travelsync.errors import ConfigError
from travelsync.location import Location
from travelsync.offsite.arguments import snapshot_copy_passes
from travelsync.offsite.plan import Step, human_age, not_copied, plan_sync, too_old


def snap(id_, parent=None):
    kind = "full" if id_.endswith("full") else "incremental"
    return SimpleNamespace(id=id_, kind=kind, parent=parent)


HOME = [snap("20261122T023000Z-full"), snap("20261123T023000Z-incr", "20261122T023000Z-full"),
        snap("20261124T023000Z-incr", "20261123T023000Z-incr"), snap("20261129T023000Z-full"),
        snap("20261130T023000Z-incr", "20261129T023000Z-full")]


def test_an_empty_copy_gets_everything_oldest_first_linked_as_at_home():
    steps = plan_sync(HOME, [])
    assert steps == [Step("20261122T023000Z-full", "full", None),
                     Step("20261123T023000Z-incr", "incremental", "20261122T023000Z-full"),
                     Step("20261124T023000Z-incr", "incremental", "20261123T023000Z-incr"),
                     Step("20261129T023000Z-full", "full", None),
                     Step("20261130T023000Z-incr", "incremental", "20261129T023000Z-full")]


def test_only_what_is_newer_than_the_copys_newest_and_a_missing_parent_links_to_the_newest_older():
    copy = ["20261122T023000Z-full", "20261124T023000Z-incr"]  # 23 pruned there
    assert [s.snapshot_id for s in plan_sync(HOME, copy)] == ["20261129T023000Z-full", "20261130T023000Z-incr"]
    assert not_copied(HOME, copy) == ["20261123T023000Z-incr"]
    lone = [snap("20261124T023000Z-incr", "20261123T023000Z-incr")]
    assert plan_sync(lone, ["20261122T023000Z-full"]) == [
        Step("20261124T023000Z-incr", "incremental", "20261122T023000Z-full")]
    assert plan_sync(lone, []) == [Step("20261124T023000Z-incr", "incremental", None)]


def test_age_and_threshold():
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    assert too_old(None, now, "2d") and not too_old(now - timedelta(hours=47), now, "2d")
    assert too_old(now - timedelta(hours=49), now, "2d")
    assert human_age(timedelta(hours=50)) == "2 d 2 h" and human_age(None) == "never synced"


def test_folders_are_linked_files_copied_whole_and_never_linked():
    folders, files = snapshot_copy_passes(RsyncSettings(), None, Location("/repo/snapshots/A"),
                                          Location("/copy/partial/A"), link_dest="/copy/snapshots/B",
                                          exclude=("/snapshot.json",))
    assert "--link-dest=/copy/snapshots/B" in folders and folders.index("--include=/*/") < folders.index("--exclude=/*")
    assert not any(a.startswith("--link-dest") for a in files)
    assert "--ignore-times" in files and "--exclude=/*/" in files and "--exclude=/snapshot.json" in files
    assert folders[-3:] == files[-3:] == ["--", "/repo/snapshots/A/", "/copy/partial/A/"]


def config_text(copy: str) -> str:
    return ("repository: /srv/repo\nsources:\n  - {name: home, path: /home/marc}\noffsite:\n" + copy)


@pytest.mark.parametrize("copy, message", [
    ("  - {name: friend, repository: /srv/repo}\n", "offsite[0].repository: is the repository itself"),
    ("  - {name: friend, repository: /mnt/c, encryption: gocryptfs}\n", "needs password_command"),
    ("  - {name: friend, repository: /mnt/c, password_command: pass x}\n", "is only used with encryption"),
    ("  - {name: a, repository: /mnt/c}\n  - {name: a, repository: /mnt/d}\n", "duplicate off-site name 'a'"),
    ("  - {name: a, repository: /mnt/c, encryption: gocryptf}\n", "did you mean 'gocryptfs'"),
    ("  - {name: a, repository: /mnt/c, keep: {ful: 2}}\n", "offsite[0].keep.ful: unknown key"),
    ("  - {name: a, repository: /mnt/c, warn_after: soon}\n", "offsite[0].warn_after: expected a duration"),
    ("  - {name: a, repository: /home/marc/copy}\n", "is inside source 'home'"),
])
def test_bad_offsite_entries_get_one_line_naming_the_place(copy, message):
    from travelsync.config.load import parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(config_text(copy), "c.yaml", {"HOME": "/home/marc"})
    assert caught.value.message.startswith("c.yaml:") and message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_good_entry_is_loaded():
    from travelsync.config.load import parse_config

    config = parse_config(config_text("  - {name: friend, repository: 'marc@host:/srv/copy', encryption: gocryptfs,"
                                      " password_command: pass show t, schedule: daily 04:00, keep: {full: 2}}\n"),
                          "c.yaml", {"HOME": "/home/marc"})
    copy = config.offsite[0]
    assert copy.repository.is_remote and copy.keep.full == 2 and copy.schedule.hour == 4
    assert copy.warn_after == "2d"


def test_the_daemon_syncs_unscheduled_copies_after_a_successful_backup_only(tmp_path):
    from zoneinfo import ZoneInfo

    from tests.conftest import need_programs
    from travelsync.config.model import OffsiteCopy, Schedule, ScheduleSpec
    from travelsync.schedule.daemon import Daemon, offsite_commands

    need_programs("true", "false", "sh")
    after, timed = offsite_commands("/c.yaml", (OffsiteCopy("friend", Location("/mnt/a")),
                                                OffsiteCopy("far", Location("/mnt/b"), schedule=ScheduleSpec(("sun",), 4, 0))))
    assert [argv[-3:] for argv in after] == [["offsite", "sync", "friend"]]
    assert timed[0][0].hour == 4 and timed[0][1][-1] == "far"
    marker = tmp_path / "synced"
    now = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    for backup, expected in ((["false"], False), (["true"], True)):
        daemon = Daemon(Schedule(), backup, log=lambda line: None, now=lambda: now, heartbeat=1,
                        after_backup=[["sh", "-c", f"echo offsite > {marker}"]])
        daemon.check("start")
        assert marker.exists() is expected


def test_notifications_carry_each_copys_age_and_a_stale_copy_is_told(tmp_path, monkeypatch):
    from tests.unit.test_notify import PingServer
    from travelsync.config.load import parse_config
    from travelsync.notify.hooks import notify_outcome
    from travelsync.offsite.status import record_sync

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TRAVELSYNC_NOW", "2026-11-30T02:30:00+00:00")
    out = tmp_path / "told.txt"
    server = PingServer()
    try:
        config = parse_config(f"repository: {tmp_path}/repo\nsources: [{{name: home, path: {tmp_path}/home}}]\n"
                              f"notify: {{command: 'echo $TRAVELSYNC_OFFSITE > {out}', url: '{server.url}'}}\n"
                              f"offsite: [{{name: friend, repository: {tmp_path}/copy}}]\n", "t.yaml")
        record_sync(tmp_path / "state" / "travelsync", "friend", "20261127T023000Z-incr",
                    datetime(2026, 11, 27, 2, 30, tzinfo=timezone.utc), datetime(2026, 11, 27, 3, tzinfo=timezone.utc))
        success = {"exit_status": 0, "snapshot": "20261130T023000Z-incr", "warnings": []}
        assert notify_outcome(config, success) == []
        assert out.read_text().strip() == "friend: 3 d 0 h old (more than 2d)"  # told although the backup went well
        assert "off-site friend: 3 d 0 h old (more than 2d)" in server.requests[-1][2]
    finally:
        server.close()


def test_offsite_is_due_after_a_new_snapshot_or_at_its_own_slot():
    from zoneinfo import ZoneInfo

    from travelsync.config.model import OffsiteCopy, ScheduleSpec
    from travelsync.offsite.plan import is_due

    zone = ZoneInfo("UTC")
    now = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    follow = OffsiteCopy("friend", Location("/mnt/a"))
    assert is_due(follow, None, "20261125T023000Z-incr", now, zone)  # never synced
    assert not is_due(follow, None, None, now, zone)  # nothing to copy yet
    synced = {"latest": "20261125T023000Z-incr", "synced_at": "2026-11-25T03:00:00+00:00"}
    assert not is_due(follow, synced, "20261125T023000Z-incr", now, zone)
    assert is_due(follow, synced, "20261125T093000Z-incr", now, zone)
    daily = OffsiteCopy("far", Location("/mnt/b"), schedule=ScheduleSpec(("sun", "mon", "tue", "wed", "thu", "fri",
                                                                         "sat"), 4, 0))
    assert is_due(daily, synced, "20261125T093000Z-incr", now, zone)  # today's 04:00 came after the 03:00 sync
    late = {**synced, "synced_at": "2026-11-24T05:00:00+00:00"}
    assert is_due(daily, late, "20261125T023000Z-incr", now, zone)
    assert not is_due(daily, {**synced, "synced_at": "2026-11-25T04:30:00+00:00"}, "20261125T093000Z-incr", now, zone)


def test_schedule_files_sync_the_copies_after_the_backup():
    from pathlib import Path

    from travelsync.schedule import install

    invocation = install.Invocation(("/usr/bin/travelsync",), Path("/cfg/c.yaml"))
    cron = install.render_cron(invocation, offsite=True)
    assert "backup --if-due && " in cron and cron.count("offsite sync --if-due") == 2
    assert "offsite" not in install.render_cron(invocation)
    service = install.render_service(invocation, None, offsite=True)
    lines = [line for line in service.splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 2 and "backup --if-due" in lines[0] and "offsite sync --if-due" in lines[1]


def test_a_stop_request_ends_the_pause_between_two_rsync_tries():
    import threading
    import time

    from travelsync.offsite.sync import Stopped, _Stop

    cancel = threading.Event()
    stop = _Stop(cancel, SimpleNamespace(lost=lambda: None))
    threading.Timer(0.2, cancel.set).start()
    began = time.monotonic()
    stop.pause(20, time.sleep)
    assert time.monotonic() - began < 2
    with pytest.raises(Stopped):
        stop.check()
