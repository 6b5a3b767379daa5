"""hooks: before_backup/after_backup/on_error/before_prepare/after_finalize with real rsync:
order, environment, timeout (the hook's whole process group killed), the soft skip (exit
75), on_error on failure and after SIGTERM (travelsync as a real process)."""

import os
import signal
import time

import pytest
import yaml

from tests.conftest import need_programs
from tests.integration.test_trip import trip  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(120)
LOG = 'echo "$TRAVELSYNC_HOOK $TRAVELSYNC_COMMAND status=$TRAVELSYNC_STATUS code=$TRAVELSYNC_EXIT_CODE ' \
      'snapshot=$TRAVELSYNC_SNAPSHOT kind=$TRAVELSYNC_KIND" >> {log}'


@pytest.fixture
def rig(tmp_path, isolated_dirs):
    need_programs("rsync")
    source, log = tmp_path / "src", tmp_path / "hooks.log"
    source.mkdir()
    (source / "file").write_bytes(b"data")

    def configure(**hooks):
        document = {"repository": str(tmp_path / "repo"), "sources": [{"name": "home", "path": str(source)}],
                    "rsync": {"retries": 0}, "hooks": hooks}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(document))
        return tmp_path / "config.yaml"

    return tmp_path, source, log, configure


def lines(log):
    return log.read_text().splitlines() if log.exists() else []


def snapshots(base):
    folder = base / "repo" / "snapshots"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_order_and_environment(cli, rig):
    base, source, log, configure = rig
    config = configure(
        before_backup=[LOG.format(log=log), f'ls "$TRAVELSYNC_REPOSITORY/snapshots" 2>/dev/null | wc -l >> {log}',
                       f'echo "sources=$TRAVELSYNC_SOURCES config=$TRAVELSYNC_CONFIG" >> {log}'],
        after_backup=[LOG.format(log=log)], on_error=[LOG.format(log=log)])
    done = cli("--config", config, "--json", "backup", "--full")
    assert done.exit_code == 0, done.stderr
    snapshot = done.json["snapshot"]
    assert lines(log) == ["before_backup backup status= code= snapshot= kind=", "0",
                          f"sources={source} config={config}",
                          f"after_backup backup status=success code=0 snapshot={snapshot} kind=full"]


def test_a_before_hook_exiting_75_skips_softly(cli, rig):
    base, source, log, configure = rig
    config = configure(before_backup=["exit 75", LOG.format(log=log)], after_backup=[LOG.format(log=log)],
                       on_error=[LOG.format(log=log)])
    done = cli("--config", config, "backup")
    assert done.exit_code == 75 and "skipped by hook" in done.stderr
    assert lines(log) == [] and snapshots(base) == []  # nothing after it ran, no error reported


def test_a_failing_before_hook_fails_the_run_and_on_error_hears_of_it(cli, rig):
    base, source, log, configure = rig
    config = configure(before_backup=["exit 3"], on_error=[LOG.format(log=log) + '; echo "$TRAVELSYNC_MESSAGE" >> '
                                                           + str(log)])
    done = cli("--config", config, "backup")
    assert done.exit_code == 1 and "before_backup hook 'exit 3' exited 3" in done.stderr
    assert lines(log) == ["on_error backup status=failure code=1 snapshot= kind=",
                          "before_backup hook 'exit 3' exited 3"]
    assert snapshots(base) == []


def test_a_hook_past_its_timeout_is_killed_with_its_children(cli, rig):
    base, source, log, configure = rig
    pidfile = base / "child.pid"
    config = configure(before_backup=[f"sleep 60 & echo $! > {pidfile}; wait"], timeout=1,
                       on_error=[LOG.format(log=log)])
    started = time.monotonic()
    done = cli("--config", config, "backup")
    assert done.exit_code == 1 and "timed out after 1 s" in done.stderr
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{child}") or "Z" in open(f"/proc/{child}/stat").read().split()[2]
    assert lines(log) == ["on_error backup status=failure code=1 snapshot= kind="]


def test_an_after_hook_failure_is_reported_and_the_snapshot_kept(cli, rig):
    base, source, log, configure = rig
    config = configure(after_backup=["exit 9"], on_error=[LOG.format(log=log)])
    done = cli("--config", config, "backup")
    assert done.exit_code == 1 and "after_backup hook 'exit 9' exited 9" in done.stderr
    assert len(snapshots(base)) == 1
    assert lines(log) == [f"on_error backup status=failure code=1 snapshot={snapshots(base)[0]} kind=full"]


def test_sigterm_during_rsync_runs_on_error(cli_process, rig):
    base, source, log, configure = rig
    (source / "big").write_bytes(os.urandom(3_000_000))
    config = configure(on_error=[LOG.format(log=log)], after_backup=[LOG.format(log=log)])
    document = yaml.safe_load(config.read_text())
    document["rsync"]["extra_args"] = ["--bwlimit=200"]  # 15 s for the big file
    config.write_text(yaml.safe_dump(document))
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "travelsync", "--config", str(config), "backup"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not list((base / "repo" / "partial").glob("*/data/home")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 75, err
    assert lines(log) == ["on_error backup status=failure code=75 snapshot= kind="]


def test_sigterm_during_a_before_hook_stops_it_and_runs_on_error(rig):
    base, source, log, configure = rig
    marker = base / "hook-started"
    config = configure(before_backup=[f"touch {marker}; sleep 60"], on_error=[LOG.format(log=log)])
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "travelsync", "--config", str(config), "backup"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 75 and time.monotonic() - started < 10, err
    assert lines(log) == ["on_error backup status=failure code=75 snapshot= kind="]
    assert snapshots(base) == []


def test_before_prepare_skips_softly_and_a_failed_prepare_runs_on_error(cli, rig):
    base, source, log, configure = rig
    config = configure(before_prepare=["exit 75"], on_error=[LOG.format(log=log)])
    skipped = cli("--config", config, "prepare", "--skip-preflight")
    assert skipped.exit_code == 75 and "prepare skipped by hook" in skipped.stderr and lines(log) == []
    config = configure(before_prepare=[LOG.format(log=log)], on_error=[LOG.format(log=log)])
    failed = cli("--config", config, "prepare", "--skip-preflight")  # no snapshot yet
    assert failed.exit_code not in (0, 3, 75), failed.stderr
    assert lines(log) == ["before_prepare prepare status= code= snapshot= kind=",
                          f"on_error prepare status=failure code={failed.exit_code} snapshot= kind="]


def with_hooks(config, **hooks):
    document = yaml.safe_load(config.read_text())
    document["hooks"] = hooks
    config.write_text(yaml.safe_dump(document))


def test_after_finalize_and_on_error_of_the_trip(trip, cli, tmp_path):
    from tests.integration.test_trip import FINALIZE_AT, PREPARE_AT, new_mail_and_nightly

    base, home, config, full, monday = trip
    log = tmp_path / "trip-hooks.log"
    with_hooks(config, after_finalize=[LOG.format(log=log)], on_error=[LOG.format(log=log)])
    early = cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})  # before prepare: out of order
    assert early.exit_code == 2
    assert lines(log) == ["on_error finalize status=failure code=2 snapshot= kind="]
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    new_mail_and_nightly(home, config)
    done = cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert done.exit_code == 0, done.stderr
    assert lines(log)[1:] == [f"after_finalize finalize status={'success' if done.exit_code == 0 else 'warnings'} "
                              f"code={done.exit_code} snapshot= kind="]


def test_sigterm_during_prepare_runs_on_error_and_stops_the_hook(trip, tmp_path):
    import subprocess
    import sys

    base, home, config, full, monday = trip
    log, marker, pidfile = tmp_path / "trip-hooks.log", tmp_path / "started", tmp_path / "sleep.pid"
    with_hooks(config, before_prepare=[f"sleep 60 & echo $! > {pidfile}; touch {marker}; wait"],
               on_error=[LOG.format(log=log)])
    process = subprocess.Popen([sys.executable, "-m", "travelsync", "prepare", "--skip-preflight"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143, err  # SIGTERM, raised by the CLI (cli/lazy.py) and unwound
    assert lines(log) == ["on_error prepare status=failure code=143 snapshot= kind="]
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{child}") or "Z" in open(f"/proc/{child}/stat").read().split()[2]


def test_the_backup_finalize_takes_first_runs_the_backup_hooks_and_notifies(trip, cli, tmp_path):
    """finalize --backup-first's incremental is a backup like a scheduled one: before_backup,
    after_backup and notify.command (on_success) run for it (none did before)."""
    from tests.integration.test_trip import FINALIZE_AT, PREPARE_AT

    base, home, config, full, monday = trip
    log = tmp_path / "first.log"
    with_hooks(config, before_backup=[LOG.format(log=log)], after_backup=[LOG.format(log=log)])
    document = yaml.safe_load(config.read_text())
    document["notify"] = {"command": f'echo "notify $TRAVELSYNC_STATUS $TRAVELSYNC_SNAPSHOT" >> {log}',
                          "on_success": True}
    config.write_text(yaml.safe_dump(document))
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    done = cli("--json", "finalize", "--skip-preflight", "--backup-first", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert done.exit_code == 0, done.stderr
    taken = done.json["snapshot"]
    assert taken not in (full, monday)
    assert lines(log) == ["before_backup backup status= code= snapshot= kind=",
                          f"after_backup backup status=success code=0 snapshot={taken} kind=incremental",
                          f"notify success {taken}"]  # notified last: a failing after-hook is a failure
