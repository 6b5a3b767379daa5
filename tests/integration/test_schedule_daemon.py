"""The scheduling front ends against a real repository, real rsync and real processes.

- `backup --if-due` replayed over a week with TRAVELSYNC_NOW: one run per slot, a full on Sunday;
- `schedule run` as a real process: a catch-up run at start (exactly one), nothing at start when
  nothing is due, a job that fires within seconds (the hidden `--every`), and SIGTERM during a
  backup leaving `latest` intact and a partial snapshot that the next run completes.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import need_programs

BERLIN = ZoneInfo("Europe/Berlin")


def write_config(tmp_path, extra=""):
    source = tmp_path / "home"
    source.mkdir(exist_ok=True)
    (source / "notes.txt").write_text("hello\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {source}\n"
                      f"schedule:\n  full: sun 02:30\n  incremental: daily 02:30\n  timezone: Europe/Berlin\n{extra}")
    return config, source


def runs_of(config):
    from travelsync.config import load_config
    from travelsync.repository import open_repository

    return open_repository(load_config(config)).successful_runs()


def snapshot_ids(tmp_path):
    folder = tmp_path / "repo" / "snapshots"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_backup_if_due_over_a_replayed_week(cli, tmp_path):
    """Checks every 6 hours from Saturday to the next Monday: a full Sunday, one incremental a day."""
    need_programs("rsync")
    config, source = write_config(tmp_path)
    start = datetime(2026, 11, 21, 0, 0, tzinfo=BERLIN)
    made = []
    for step in range(0, 4 * 10):  # 10 days, every 6 hours
        now = start + timedelta(hours=6 * step)
        (source / "notes.txt").write_text(f"edited {step}\n")
        before = len(runs_of(config)) if (tmp_path / "repo").exists() else 0
        result = cli("--config", config, "--quiet", "backup", "--if-due",
                     env={"TRAVELSYNC_NOW": now.isoformat()})
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "" and result.stderr == "", "--quiet prints nothing"
        after = runs_of(config)
        if len(after) > before:
            made.append((after[-1][0], now.strftime("%a %d %H:%M")))
    assert made == [
        ("full", "Sat 21 00:00"),  # an empty repository: the first run is a full
        ("incremental", "Sat 21 06:00"),  # Saturday's 02:30 slot had not run (its run came before it)
        ("full", "Sun 22 06:00"),
        *[("incremental", f"{day} {n} 06:00") for n, day in zip(range(23, 29), ["Mon", "Tue", "Wed", "Thu",
                                                                                "Fri", "Sat"])],
        ("full", "Sun 29 06:00"),
        ("incremental", "Mon 30 06:00"),
    ]


class Daemon:
    """`travelsync schedule run` as a real process, its stderr collected in a file."""

    def __init__(self, config, tmp_path, *args):
        self.log = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if k != "TRAVELSYNC_NOW"}
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen([sys.executable, "-m", "travelsync", "--config", str(config),
                                             "schedule", "run", *args], stdout=sink, stderr=sink, env=env)

    def text(self):
        return self.log.read_text()

    def wait_for(self, condition, timeout=30.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            assert self.process.poll() is None, f"daemon exited early:\n{self.text()}"
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.text()}")

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def daemons():
    started = []
    yield lambda *args: started.append(Daemon(*args)) or started[-1]
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def test_catch_up_at_start_exactly_one_run(cli, tmp_path, daemons):
    """The last run is two days old (older than the last slot): one catch-up run at start, no more."""
    need_programs("rsync")
    config, source = write_config(tmp_path)
    old = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat()
    assert cli("--config", config, "backup", "--full", env={"TRAVELSYNC_NOW": old}).exit_code == 0
    (source / "new.txt").write_text("changed since\n")
    daemon = daemons(config, tmp_path, "--heartbeat", "0.5")
    daemon.wait_for(lambda: len(runs_of(config)) == 2, what="the catch-up run")
    daemon.wait_for(lambda: "start: backup exited 0" in daemon.text(), what="the catch-up run to finish")
    time.sleep(2.0)  # four heartbeats: none may start another run
    assert daemon.stop() == 0
    assert len(runs_of(config)) == 2
    assert daemon.text().count("running backup --if-due") == 1, daemon.text()


def test_nothing_due_at_start_and_a_job_that_fires_within_seconds(cli, tmp_path, daemons):
    need_programs("rsync")
    config, source = write_config(tmp_path)
    assert cli("--config", config, "backup", "--full").exit_code == 0  # now: nothing is due
    first = snapshot_ids(tmp_path)
    (source / "more.txt").write_text("more\n")
    daemon = daemons(config, tmp_path, "--every", "1")
    daemon.wait_for(lambda: len(snapshot_ids(tmp_path)) == 2, timeout=20, what="a snapshot from the interval job")
    assert daemon.stop() == 0
    log = daemon.text()
    assert "start: backup exited 0" in log and "every: running backup --auto" in log
    assert snapshot_ids(tmp_path)[0] == first[0]


def test_sigterm_during_a_backup_keeps_latest_and_a_resumable_partial(cli, tmp_path, daemons):
    need_programs("rsync")
    config, source = write_config(tmp_path, 'rsync:\n  extra_args: ["--bwlimit=4000"]\n')
    assert cli("--config", config, "backup", "--full").exit_code == 0
    latest = os.readlink(tmp_path / "repo" / "latest")
    (source / "big.bin").write_bytes(os.urandom(24 * 1024 * 1024))  # about 6 s at 4 MB/s
    daemon = daemons(config, tmp_path, "--every", "0.5")
    partial = tmp_path / "repo" / "partial"
    daemon.wait_for(lambda: partial.exists() and any(p.rglob("big.bin*") or p.rglob(".big.bin*")
                                                     for p in partial.iterdir()),
                    what="a backup in progress")
    time.sleep(0.5)
    stopped_at = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - stopped_at < 10, "the daemon stops promptly"
    assert "backup exited 75" in daemon.text(), daemon.text()
    assert os.readlink(tmp_path / "repo" / "latest") == latest, "latest still names the previous snapshot"
    assert (tmp_path / "repo" / latest / "data" / "home" / "notes.txt").read_text() == "hello\n"
    partials = list(partial.iterdir())
    assert len(partials) == 1, "the interrupted snapshot stays in partial/ for resuming"
    assert len(snapshot_ids(tmp_path)) == 1
    # The next run resumes and commits; no partial is left behind.
    interrupted = partials[0].name
    result = cli("--config", config, "--json", "backup", "--incremental")
    assert result.exit_code == 0, result.stderr
    assert f"resuming the interrupted snapshot {interrupted}" in result.stderr
    assert len(snapshot_ids(tmp_path)) == 2 and list(partial.iterdir()) == []
    assert (tmp_path / "repo" / "latest" / "data" / "home" / "big.bin").stat().st_size == 24 * 1024 * 1024
