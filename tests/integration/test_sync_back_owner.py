"""`return --sync-back` run as root never hands home's files to the laptop's user (issue 15,
finding 10): real unprivileged users (useradd here, removed after), real rsync, the laptop on
this machine and over a real sshd as its own user.  Files that come home take the owner and
group of the folder they land in; home's existing folders keep their owner and mode."""

import os
import secrets
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import need_programs, need_root
from tests.integration.test_restore import backup, build_home, write_config

pytestmark = pytest.mark.integration
FULL_AT, PREPARE_AT, RETURN_AT = "2026-11-22T02:30:00+00:00", "2026-11-23T18:00:00+00:00", "2026-12-02T20:00:00+00:00"


@pytest.fixture
def users():
    """Two real accounts: (home's user, the laptop's user), different names and ids."""
    need_root()
    need_programs("useradd", "userdel", "usermod", "rsync")
    names = [f"ts{role}{secrets.token_hex(3)}" for role in ("home", "lap")]
    try:
        for name in names:
            subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-U", name], check=True)
            subprocess.run(["usermod", "-p", "*", name], check=True)  # not locked: sshd lets it log in by key
        import pwd

        yield [pwd.getpwnam(name) for name in names]
    finally:
        import pwd

        for name in names:
            try:
                end_processes_of(pwd.getpwnam(name).pw_uid)
            except KeyError:
                continue  # useradd failed before this one
            done = subprocess.run(["userdel", name], capture_output=True, text=True)
            subprocess.run(["groupdel", name], capture_output=True)
            assert done.returncode == 0, f"userdel {name}: {done.stderr}"


def end_processes_of(uid: int, wait: float = 10.0) -> None:
    """End, by pid, the processes running as a user this test created (the laptop side of a
    shared ssh connection that outlives the command by a few seconds), so userdel can remove it."""
    def running() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                status = (entry / "status").read_text() if entry.name.isdigit() else ""
            except OSError:
                continue
            uids = next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])
            if str(uid) in uids:
                pids.append(int(entry.name))
        return pids

    deadline = time.monotonic() + wait
    while (pids := running()) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def chown_tree(root: Path, user) -> None:
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(Path(folder, name), user.pw_uid, user.pw_gid)
    os.lchown(root, user.pw_uid, user.pw_gid)


def owners(root: Path) -> dict:
    """Every entry under `root` → (uid, gid)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = Path(folder, name).lstat()
            found[str(Path(folder, name).relative_to(root))] = (info.st_uid, info.st_gid)
    return found


def trip_changes(laptop_home: Path, home: Path) -> None:
    """On the laptop: a new file in new folders, a changed file, and one changed at home too."""
    (laptop_home / "src" / "new-folder" / "deeper").mkdir(parents=True)
    (laptop_home / "src" / "new-folder" / "deeper" / "written-on-trip.py").write_text("print('hi')\n")
    (laptop_home / "src" / "app" / "m1.py").write_text("laptop version\n")
    (laptop_home / "src" / "app" / "m2.py").write_text("laptop version of m2\n")
    (home / "src" / "app" / "m2.py").write_text("home version of m2\n")


def check_home(home: Path, owner, modes_before: dict) -> None:
    assert (home / "src" / "new-folder" / "deeper" / "written-on-trip.py").read_text() == "print('hi')\n"
    assert (home / "src" / "app" / "m1.py").read_text() == "laptop version\n"
    assert [p.name for p in (home / "src" / "app").iterdir() if p.name.startswith("m2.py.laptop-")]
    wrong = {name: ids for name, ids in owners(home).items() if ids != (owner.pw_uid, owner.pw_gid)}
    assert wrong == {}, f"not home's owner ({owner.pw_uid}:{owner.pw_gid}): {wrong}"
    for folder, mode in modes_before.items():
        assert (home / folder).stat().st_mode == mode, folder


@contextmanager
def laptop_over_ssh(laptop_user):
    """(sshd, laptop root): a laptop root owned by `laptop_user` and an sshd it logs into,
    where that user can reach them (pytest's folders are root's, 0700; sshd reads
    authorized_keys as the user logging in). Removed afterwards."""
    from tests.fixtures.sshd import start_sshd, stop_sshd

    need_programs("/usr/sbin/sshd", "ssh", "ssh-keygen")
    outer = Path(tempfile.mkdtemp(prefix="travelsync-laptop-", dir="/tmp"))
    os.chmod(outer, 0o755)
    sshd = start_sshd(outer / "sshd")
    try:
        os.chmod(outer / "sshd", 0o755)
        os.chmod(outer / "sshd" / "authorized_keys", 0o644)
        laptop_root = outer / "laptop"
        laptop_root.mkdir()
        os.chown(laptop_root, laptop_user.pw_uid, laptop_user.pw_gid)
        yield sshd, laptop_root
    finally:
        stop_sshd(sshd)
        subprocess.run(["rm", "-rf", "--one-file-system", str(outer)], check=False)


def prepare_trip(config: Path, cli) -> None:
    """A full backup, then `prepare` puts it on the laptop."""
    backup(config, "full", FULL_AT)
    prepared = cli("--config", config, "prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT})
    assert prepared.exit_code == 0, prepared.stderr


def test_sync_back_as_root_keeps_home_owner_with_a_local_laptop(users, tmp_path, cli, monkeypatch):
    home_user, laptop_user = users
    home = build_home(tmp_path, mails=3)
    chown_tree(home, home_user)
    config = write_config(tmp_path, home, mailer=False)
    monkeypatch.setenv("HOME", str(home))
    prepare_trip(config, cli)
    laptop_home = tmp_path / "laptop" / home.relative_to("/")
    chown_tree(tmp_path / "laptop", laptop_user)  # the laptop's files belong to the laptop's user
    trip_changes(laptop_home, home)
    os.chmod(home / "src", 0o750)
    modes = {"src": (home / "src").stat().st_mode, "src/app": (home / "src" / "app").stat().st_mode}
    done = cli("--config", config, "--json", "return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert done.exit_code == 0, done.stderr
    check_home(home, home_user, modes)


def test_sync_back_as_root_keeps_home_owner_with_a_laptop_over_ssh(users, tmp_path, cli, monkeypatch):
    home_user, laptop_user = users
    home = build_home(tmp_path, mails=3)
    chown_tree(home, home_user)
    with laptop_over_ssh(laptop_user) as (sshd_server, laptop_root):
        config = write_config(tmp_path, home, mailer=False, laptop_host=f"{laptop_user.pw_name}@127.0.0.1",
                              laptop_root=laptop_root, ssh=sshd_server.ssh_config)
        monkeypatch.setenv("HOME", str(home))
        prepare_trip(config, cli)
        laptop_home = laptop_root / home.relative_to("/")
        assert laptop_home.joinpath("src", "app", "m1.py").stat().st_uid == laptop_user.pw_uid  # written as the laptop user
        trip_changes(laptop_home, home)
        chown_tree(laptop_root, laptop_user)
        modes = {"src": (home / "src").stat().st_mode, "src/app": (home / "src" / "app").stat().st_mode}
        done = cli("--config", config, "--json", "return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
        assert done.exit_code == 0, done.stderr
        check_home(home, home_user, modes)


def test_the_owner_walk_never_follows_a_symlink_on_the_way(tmp_path):
    """A home folder swapped for a symlink (to /etc, say) cannot turn the change of owner onto
    a file elsewhere: the walk opens each folder without following links."""
    from travelsync.trip.home_owner import give_to_folder_owner, missing_folders

    need_root()
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    (home / "new" / "deeper").mkdir(parents=True)
    elsewhere.mkdir()
    for path in (home / "new" / "deeper" / "f", home / "g", elsewhere / "f"):
        path.write_text("x")
    (home / "link").symlink_to(elsewhere)
    os.chown(home, 12345, 23456)
    assert missing_folders(str(home), ["new/deeper/f", "brand/new/f"]) == {"brand", "brand/new"}
    changed = give_to_folder_owner(str(home), ["g", "link/f", "new/deeper/f"], {"new", "new/deeper"})
    assert changed == 4
    assert (elsewhere / "f").stat().st_uid == 0 and (home / "link").lstat().st_uid == 0
    assert {(p.stat().st_uid, p.stat().st_gid) for p in (home / "g", home / "new", home / "new" / "deeper",
                                                          home / "new" / "deeper" / "f")} == {(12345, 23456)}


def test_sync_back_never_writes_home_through_a_symlinked_folder(users, tmp_path, cli, monkeypatch):
    """Home's user turns ~/src/app into a link to a folder of root's: root's sync-back must
    not write the laptop's files there (nor replace home's link with a folder)."""
    home_user, laptop_user = users
    home = build_home(tmp_path, mails=3)
    chown_tree(home, home_user)
    config = write_config(tmp_path, home, mailer=False)
    monkeypatch.setenv("HOME", str(home))
    prepare_trip(config, cli)
    laptop_home = tmp_path / "laptop" / home.relative_to("/")
    (laptop_home / "src" / "app" / "m1.py").write_text("laptop version\n")
    roots_folder = tmp_path / "roots-folder"
    roots_folder.mkdir()
    (home / "src" / "app").rename(home / "src" / "app-moved")
    (home / "src" / "app").symlink_to(roots_folder)
    before = sorted(p.name for p in roots_folder.iterdir())
    done = cli("--config", config, "return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert done.exit_code == 2, done.stderr
    assert "home/src/app/m1.py: a folder on the way is a symlink at home" in done.stderr
    assert sorted(p.name for p in roots_folder.iterdir()) == before and (home / "src" / "app").is_symlink()
