"""rsync skips its symlink-race walk (`--insecure-links`) only where no other user can reach the
paths: checked with the real rsync, recording the argv each run received, and the results of
those runs compared with the snapshots (hard links, contents) as elsewhere."""

import shutil
import stat
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import need, need_programs
from tests.integration.test_restore import backup, build_home, laptop_equals, write_config, write_mail
from travelsync.rsync.trusted_paths import OPTION, closed, rsync_has_option

pytestmark = pytest.mark.integration


def recording_rsync(folder: Path) -> tuple[Path, Path]:
    """An rsync that appends its argv (one run a line) to a log, then execs the real one."""
    log, program = folder / "argv.log", folder / "rsync-recording"
    program.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {log}\nexec {shutil.which('rsync')} \"$@\"\n")
    program.chmod(0o755)
    return program, log


def journey(base: Path, program: Path, log: Path) -> list[str]:
    """Full backup, prepare-like restore, a change, incremental, finalize-like restore; the
    argv of every rsync run that moved data (not the --help probe)."""
    home = build_home(base)
    config = write_config(base, home)
    document = yaml.safe_load(config.read_text())
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    env = {"TRAVELSYNC_CONFIG": str(config)}
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    from click.testing import CliRunner

    from travelsync.cli import cli as group

    def restore(snapshot, code):
        result = CliRunner().invoke(group, ["--json", "restore", "--from", snapshot], env=env)
        assert result.exit_code == code, result.output

    restore(full, 0)
    write_mail(home, "trip.mail", sub="new")
    (home / "src" / "app" / "m1.py").write_text("changed\n")
    latest = backup(config, "incremental", "2026-11-23T02:30:00+00:00")
    restore(latest, 3)  # a warning: the laptop's older m1.py is moved aside
    laptop_home = base / "laptop" / home.relative_to("/")
    assert laptop_equals(base, laptop_home, latest)
    full_data = base / "repository" / "snapshots" / full / "data" / "home"
    latest_data = base / "repository" / "snapshots" / latest / "data" / "home"
    unchanged = Path("Mail/cur/0.mail")
    assert (full_data / unchanged).stat().st_ino == (latest_data / unchanged).stat().st_ino  # link-dest worked
    return [line for line in log.read_text().splitlines() if line != "--help"]


@pytest.fixture
def rsync_with_option():
    need_programs("rsync")
    need(rsync_has_option(shutil.which("rsync")), "this rsync has no --insecure-links (older than 3.4.3)")


def test_a_private_folder_gets_the_fast_walk_for_every_transfer(rsync_with_option, tmp_path):
    base = tmp_path / "private"
    base.mkdir(mode=0o700)
    assert closed(str(base)) is None
    program, log = recording_rsync(tmp_path)
    runs = journey(base, program, log)
    assert len(runs) >= 4  # full, change check, incremental, two restores
    assert all(OPTION in run.split() for run in runs), runs
    restores = [run.split() for run in runs if any(a.startswith("--backup-dir=") for a in run.split())]
    assert len(restores) >= 2 and not any("--info=progress2" in argv for argv in restores)  # no bar, no progress
    assert stat.S_IMODE((base / "repository").stat().st_mode) == 0o700  # a new repository is private


def test_a_folder_other_users_can_reach_keeps_rsyncs_walk(rsync_with_option, tmp_path):
    base = Path(tempfile.mkdtemp(prefix="travelsync-open-", dir="/tmp"))
    try:
        base.chmod(0o755)  # /tmp is sticky and ours is open: anyone may walk in
        if closed(str(base)) is None:
            pytest.fail(f"{base} should be reachable by other users")
        program, log = recording_rsync(tmp_path)
        runs = journey(base, program, log)
        assert len(runs) >= 4 and not any(OPTION in run.split() for run in runs), runs
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_user_can_keep_the_walk_with_extra_args(rsync_with_option, tmp_path):
    base = tmp_path / "private"
    base.mkdir(mode=0o700)
    home = build_home(base)
    config = write_config(base, home, extra_args=["--no-insecure-links"])
    program, log = recording_rsync(tmp_path)
    document = yaml.safe_load(config.read_text())
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    argv = [line for line in log.read_text().splitlines() if line != "--help"][0].split()
    assert argv.index("--no-insecure-links") > argv.index(OPTION)  # rsync takes the last word


def test_on_the_real_file_system_a_world_writable_folder_counts_only_where_others_can_reach_it(tmp_path):
    hidden = tmp_path / "private" / "shared"
    hidden.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    hidden.chmod(0o777)
    assert closed(str(hidden / "repo")) is None  # nobody else can get into private/
    base = Path(tempfile.mkdtemp(prefix="travelsync-open-", dir="/tmp"))
    try:
        base.chmod(0o755)
        shared = base / "shared"
        shared.mkdir()
        shared.chmod(0o777)
        (shared / "repo").mkdir(mode=0o700)
        assert closed(str(shared / "repo")) == f"{shared} is writable by other users"  # repo could be swapped
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_repository_over_ssh_keeps_the_walk(rsync_with_option, tmp_path, sshd_server):
    """The option is local to the rsync it is given to: over ssh the remote rsync, which
    receives the files, would keep its walk anyway, and travelsync cannot check its paths."""
    base = tmp_path / "private"
    base.mkdir(mode=0o700)
    home = build_home(base)
    config = write_config(base, home)
    program, log = recording_rsync(tmp_path)
    document = yaml.safe_load(config.read_text())
    document["repository"] = sshd_server.location(str(base / "repository"))
    document["ssh"] = sshd_server.ssh_config
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    runs = [line for line in log.read_text().splitlines() if line != "--help"]
    assert runs and not any(OPTION in run.split() for run in runs), runs


def rsync_runs(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines() if line != "--help"]


def test_an_extra_argument_naming_a_path_keeps_the_walk_and_a_planted_log_link_is_refused(
        rsync_with_option, tmp_path, other_user):
    """Another user plants a symlink where `--log-file` points (a sticky shared folder, as /tmp):
    with the walk skipped, root's rsync appended its log to the root-only file the link names
    (issue 15, finding 2). The walk is kept: rsync refuses the link (and ignores its log file)."""
    base = tmp_path / "private"
    base.mkdir(mode=0o700)
    victim = base / "root-only"
    victim.write_bytes(b"root's own\n")
    victim.chmod(0o600)
    shared = Path(tempfile.mkdtemp(prefix="travelsync-logs-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        log_path = shared / "rsync.log"
        other_user.run("ln", "-s", str(victim), str(log_path))
        assert log_path.lstat().st_uid == other_user.uid
        home = build_home(base, mails=3)
        config = write_config(base, home, extra_args=[f"--log-file={log_path}"])
        program, log = recording_rsync(tmp_path)
        document = yaml.safe_load(config.read_text())
        document["rsync"]["program"] = str(program)
        config.write_text(yaml.safe_dump(document))
        backup(config, "full", "2026-11-22T02:30:00+00:00")  # rsync says it ignores the log file, and goes on
        runs = rsync_runs(log)
        assert runs and not any(OPTION in argv for argv in runs), runs
        assert victim.read_bytes() == b"root's own\n"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_private_laptop_folder_restored_whole_is_no_shelter_for_the_fast_walk(rsync_with_option, tmp_path, cli):
    """Restoring a whole source sets the laptop folder's mode from the snapshot: a 0700 folder
    became 0755 while the walk was off (issue 15, finding 2). Only a folder that the restore
    leaves alone may count as the shelter."""
    base = Path(tempfile.mkdtemp(prefix="travelsync-open-", dir="/tmp"))
    try:
        base.chmod(0o755)  # reachable by anyone, like a home on a shared machine
        home = build_home(base, mails=3)
        config = write_config(base, home)
        program, log = recording_rsync(tmp_path)
        document = yaml.safe_load(config.read_text())
        document["rsync"]["program"] = str(program)
        config.write_text(yaml.safe_dump(document))
        backup(config, "full", "2026-11-22T02:30:00+00:00")
        laptop_home = base / "laptop" / home.relative_to("/")
        laptop_home.mkdir(parents=True)
        laptop_home.chmod(0o700)
        (base / "laptop" / ".travelsync-displaced").mkdir(mode=0o700)  # else rsync makes it where anyone can reach
        log.write_text("")

        result = cli("--config", config, "restore", "--path", "home/Mail")
        assert result.exit_code == 0, result.stderr
        assert all(OPTION in argv for argv in rsync_runs(log))  # home is left as it is: a shelter
        assert stat.S_IMODE(laptop_home.stat().st_mode) == 0o700

        log.write_text("")
        result = cli("--config", config, "restore", "--path", "home")
        assert result.exit_code == 0, result.stderr
        runs = rsync_runs(log)
        assert runs and not any(OPTION in argv for argv in runs), runs
        assert stat.S_IMODE(laptop_home.stat().st_mode) == stat.S_IMODE(home.stat().st_mode) == 0o755
    finally:
        shutil.rmtree(base, ignore_errors=True)
