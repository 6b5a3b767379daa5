"""Schedules run as the user who owns the configuration (issue 15, finding 12): root installing
for a real unprivileged user (useradd) writes that user's crontab and a unit with User=, the
config's `~` resolves to that user's home, and `schedule uninstall` removes exactly what install
wrote (the crontab as it was before, other lines intact)."""

import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_programs, need_root
from travelsync.schedule import install

pytestmark = pytest.mark.timeout(120)

SYSTEM_DIR = Path("/etc/systemd/system")


@pytest.fixture
def account():
    """A real unprivileged user with a home and a travelsync config in it; removed after."""
    need_root()
    need_programs("useradd", "userdel", "crontab", "systemd-analyze")
    name = "tsu" + secrets.token_hex(4)
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, timeout=60)
    entry = pwd.getpwnam(name)
    config = Path(entry.pw_dir) / ".config" / "travelsync" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("repository: ~/backups/repo\nsources:\n  - name: home\n    path: ~/\n"
                      "  - name: mail\n    path: $HOME/Mail\n")
    for path in (config, config.parent, config.parent.parent):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    try:
        yield entry, config
    finally:
        subprocess.run(["crontab", "-u", name, "-r"], capture_output=True, timeout=30)
        if shutil.which("systemctl"):  # an install may have enabled the timer where systemd runs
            subprocess.run(["systemctl", "disable", "--now", f"travelsync-backup-{name}.timer"], capture_output=True,
                           timeout=30)
        for suffix in (".service", ".timer"):
            (SYSTEM_DIR / f"travelsync-backup-{name}{suffix}").unlink(missing_ok=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60)
        if shutil.which("systemctl"):
            subprocess.run(["systemctl", "daemon-reload"], capture_output=True, timeout=30)


def can_run(entry, program) -> bool:
    """Whether the test user can start this installation's travelsync (a venv whose interpreter
    lives under /root cannot be)."""
    done = subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
                           program, "--version"], capture_output=True, timeout=60, env={"HOME": entry.pw_dir})
    return done.returncode == 0


def installed_exit(entry, result) -> int:
    """0, or 3 with the warning that the user cannot run travelsync, as the machine makes it."""
    program = install.this_machine("/x").program[0]
    runnable = can_run(entry, program)
    assert (f"{entry.pw_name} cannot run {program}" in result.stderr) == (not runnable), result.stderr
    return 0 if runnable else 3


def crontab(name):
    done = subprocess.run(["crontab", "-u", name, "-l"], capture_output=True, text=True, timeout=30)
    return done.stdout if done.returncode == 0 else None


def set_crontab(name, text):
    subprocess.run(["crontab", "-u", name, "-"], input=text, text=True, check=True, timeout=30)


def as_root(**extra):
    """The environment of `sudo travelsync …` on Debian: HOME is root's."""
    return {"HOME": "/root", "SUDO_USER": "someone", **extra}


def test_root_installs_cron_into_the_owners_crontab_and_uninstall_restores_it(cli, account):
    entry, config = account
    theirs = "MAILTO=\"\"\n# their own job\n0 5 * * * /bin/true % not ours\n"
    set_crontab(entry.pw_name, theirs)
    roots_before = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30).stdout

    done = cli("--config", config, "--json", "schedule", "install", "--cron", env=as_root())
    assert done.exit_code == installed_exit(entry, done), done.stderr
    assert done.json["run_as"] == {"user": entry.pw_name, "home": entry.pw_dir}
    assert done.json["sources"] == {"home": entry.pw_dir, "mail": f"{entry.pw_dir}/Mail"}
    assert done.json["repository"] == f"{entry.pw_dir}/backups/repo"
    installed = crontab(entry.pw_name)
    assert installed.startswith(theirs) and install.BEGIN in installed
    assert f"--config {config} --quiet backup --if-due" in installed
    assert subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30).stdout == roots_before

    again = cli("--config", config, "schedule", "install", "--cron", env=as_root())
    assert again.exit_code == 0 and crontab(entry.pw_name).count(install.BEGIN) == 1

    preview = cli("--config", config, "--json", "schedule", "uninstall", "--cron", "--dry-run", env=as_root())
    assert preview.exit_code == 0, preview.stderr
    assert preview.json["dry_run"] and crontab(entry.pw_name) == installed
    gone = cli("--config", config, "--json", "schedule", "uninstall", "--cron", env=as_root())
    assert gone.exit_code == 0, gone.stderr
    assert crontab(entry.pw_name) == theirs
    nothing = cli("--config", config, "schedule", "uninstall", "--cron", env=as_root())
    assert nothing.exit_code == 0 and crontab(entry.pw_name) == theirs


def test_a_crontab_that_did_not_exist_is_gone_again_after_uninstall(cli, account):
    entry, config = account
    assert crontab(entry.pw_name) is None
    assert cli("--config", config, "schedule", "install", "--cron", env=as_root()).exit_code == 0
    assert install.BEGIN in crontab(entry.pw_name)
    assert cli("--config", config, "schedule", "uninstall", "--cron", env=as_root()).exit_code == 0
    assert crontab(entry.pw_name) is None


def test_root_installs_a_system_unit_with_user_and_uninstall_removes_exactly_it(cli, account, tmp_path):
    entry, config = account
    done = cli("--config", config, "--json", "schedule", "install", "--systemd", env=as_root())
    # 3, a warning, exactly when systemctl cannot reach the service manager (no systemd in a
    # container): the units are written all the same
    assert done.exit_code == (3 if done.json["problems"] else 0), done.stderr
    assert all(p.startswith("systemctl ") for p in done.json["problems"]), done.json["problems"]
    service, timer = (SYSTEM_DIR / f"travelsync-backup-{entry.pw_name}{s}" for s in (".service", ".timer"))
    assert sorted(done.json["files"]) == sorted([service.name, timer.name])
    text = service.read_text()
    assert f"\nUser={entry.pw_name}\n" in text
    assert f"--config {config} --quiet backup --if-due" in text
    assert "--what=idle " in text or shutil.which("systemd-inhibit") is None  # polkit: no sleep lock for a user
    assert done.json["run_as"] == {"user": entry.pw_name, "home": entry.pw_dir}
    assert done.json["sources"]["home"] == entry.pw_dir
    verified = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)], capture_output=True,
                              text=True, timeout=60)
    assert (verified.returncode, verified.stderr) == (0, "")
    others = sorted(p.name for p in SYSTEM_DIR.iterdir() if p.name not in (service.name, timer.name))

    preview = cli("--config", config, "--json", "schedule", "uninstall", "--systemd", "--dry-run", env=as_root())
    assert preview.exit_code == 0 and service.exists() and timer.exists()
    assert sorted(preview.json["remove"]) == sorted([str(service), str(timer)])
    gone = cli("--config", config, "--json", "schedule", "uninstall", "--systemd", env=as_root())
    assert gone.exit_code == (3 if gone.json["problems"] else 0), gone.stderr  # 3: as for install, removed all the same
    assert all(p.startswith("systemctl ") for p in gone.json["problems"]), gone.json["problems"]
    assert not service.exists() and not timer.exists()
    assert sorted(p.name for p in SYSTEM_DIR.iterdir()) == others


def test_uninstall_leaves_a_unit_it_did_not_write(cli, account):
    entry, config = account
    service = SYSTEM_DIR / f"travelsync-backup-{entry.pw_name}.service"
    service.write_text("[Service]\nExecStart=/bin/true\n")
    done = cli("--config", config, "schedule", "uninstall", "--systemd", env=as_root())
    assert done.exit_code == 1 and "not written by" in done.stderr
    assert service.read_text() == "[Service]\nExecStart=/bin/true\n"


def test_user_units_for_someone_else_are_refused(cli, account):
    entry, config = account
    done = cli("--config", config, "schedule", "install", "--systemd", "--user", env=as_root())
    assert done.exit_code == 2 and entry.pw_name in done.stderr


def test_sudo_without_config_names_roots_path_and_the_way_out(cli, tmp_path):
    need_root()
    done = cli("schedule", "install", "--cron", "--dry-run",
               env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "none"), "SUDO_USER": "marc"})
    assert done.exit_code == 2 and "--config" in done.stderr and "marc" in done.stderr


def test_whether_the_owner_can_run_travelsync_is_tried_as_the_owner(account, tmp_path):
    entry, config = account
    from travelsync.schedule.target import Account

    owner = Account.of_uid(entry.pw_uid)
    reachable = Path("/usr/bin/env")
    assert install.runnable_by(install.Invocation((str(reachable),), config), owner) is None
    hidden = tmp_path / "private" / "travelsync"  # pytest's folders are 0700 root: out of the user's reach
    hidden.parent.mkdir()
    hidden.write_text("#!/bin/sh\nexit 0\n")
    hidden.chmod(0o755)
    problem = install.runnable_by(install.Invocation((str(hidden),), config), owner)
    assert problem and problem.startswith(f"{entry.pw_name} cannot run {hidden}")
