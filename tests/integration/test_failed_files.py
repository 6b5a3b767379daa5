"""Files a backup cannot take are named with their reason (issue 14, finding 5), with the real
rsync: in `backup --json` (`failed_files`) and in the snapshot's snapshot.json, the snapshot
committed `incomplete` (exit 3).

- an unreadable folder and an unreadable file, the backup run by an unprivileged user made
  with useradd for the test (removed after);
- a name longer than the repository's NAME_MAX (a FUSE file system that allows 100 bytes,
  tests/fixtures/short_names_fs.py, as an eCryptfs home or some NAS shares do);
- a path longer than PATH_MAX (4096 bytes) in the source.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, need_programs, need_root

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

NOW = {"TRAVELSYNC_NOW": "2026-11-22T02:30:00+00:00"}


def _config(path: Path, repository: Path, home: Path) -> Path:
    path.write_text(yaml.safe_dump({"repository": str(repository), "sources": [{"name": "home", "path": str(home)}],
                                    "rsync": {"retries": 0}}))
    return path


def _backup(config: Path, prefix=(), python=sys.executable, env=None):
    environment = {**os.environ, **NOW, **(env or {})}
    return subprocess.run([*prefix, python, "-m", "travelsync", "--config", str(config), "--json", "backup", "--full"],
                          capture_output=True, text=True, env=environment, timeout=120, cwd="/")


def _named(done, repository: Path) -> tuple[list, list]:
    """failed_files of the --json report and of the committed snapshot.json."""
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    report = json.loads(done.stdout)
    assert report["status"] == "incomplete", report
    document = json.loads((repository / "snapshots" / report["snapshot"] / "snapshot.json").read_text())
    return report["failed_files"], document["failed_files"]


# ---------------------------------------------------------------- an unprivileged user
@pytest.fixture
def unprivileged_user():
    """A real user made for the test (useradd), and a world folder it owns; both removed after."""
    need_root()
    need_programs("useradd", "userdel", "runuser", "rsync")
    name = f"tsfail{os.getpid() % 100000}"
    subprocess.run(["userdel", "-r", name], capture_output=True)  # a leftover of a killed run
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    world = Path(tempfile.mkdtemp(prefix="ts-failed-", dir="/tmp"))
    try:
        world.chmod(0o755)
        import pwd

        entry = pwd.getpwnam(name)
        shutil.chown(world, entry.pw_uid, entry.pw_gid)
        yield name, entry, world
    finally:
        for folder, _dirs, _files in os.walk(world):  # mode-000 folders inside
            os.chmod(folder, 0o700)
        shutil.rmtree(world, ignore_errors=True)
        subprocess.run(["userdel", name], capture_output=True)


@contextlib.contextmanager
def reachable(*folders):
    """Bind mounts of `folders` (read-only) under a fresh folder anyone may enter: the project
    and the venv's packages may sit where another user cannot go (/root is 0700; the venv's
    interpreter lives there too, so the user runs the system's Python 3 on them). Yields the
    mount points; only empty mount points are removed (rmdir), never a tree."""
    need_programs("mount", "umount")
    base = Path(tempfile.mkdtemp(prefix="ts-reach-", dir="/tmp"))
    base.chmod(0o755)
    points = []
    try:
        for number, folder in enumerate(folders):
            point = base / str(number)
            point.mkdir()
            subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(point)], check=True, capture_output=True)
            points.append(point)
        yield points
    finally:
        for point in reversed(points):
            if subprocess.run(["umount", str(point)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(point)], capture_output=True)
        for point in base.iterdir():
            point.rmdir()  # refuses anything not empty: a mount still there is never walked
        base.rmdir()


def test_an_unreadable_folder_and_file_are_named_run_as_an_unprivileged_user(unprivileged_user):
    name, entry, world = unprivileged_user
    home = world / "home"
    (home / "docs").mkdir(parents=True)
    (home / "docs" / "a.txt").write_bytes(b"alpha\n")
    (home / "closed").mkdir()
    (home / "closed" / "inside.txt").write_bytes(b"x")
    (home / "secret.txt").write_bytes(b"y")
    config = _config(world / "config.yaml", world / "repo", home)
    for path in (home, *home.rglob("*"), config):
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    (home / "closed").chmod(0)
    (home / "secret.txt").chmod(0)
    need_programs("/usr/bin/python3")
    with reachable(REPO_ROOT, sysconfig.get_paths()["purelib"]) as (code, packages):
        done = _backup(config, ["runuser", "-u", name, "--"], "/usr/bin/python3",
                       env={"PYTHONPATH": f"{code}:{packages}", "HOME": str(world),
                            "XDG_STATE_HOME": str(world / "state")})
    reported, recorded = _named(done, world / "repo")
    for failed in (reported, recorded):
        assert f"home: {home / 'closed'} (Permission denied)" in failed, failed
        assert f"home: {home / 'secret.txt'} (Permission denied)" in failed, failed
    assert str(home / "closed") in done.stderr and "secret.txt" in done.stderr
    assert (world / "repo" / "snapshots" / json.loads(done.stdout)["snapshot"] / "data" / "home" / "docs"
            / "a.txt").read_bytes() == b"alpha\n"


# ---------------------------------------------------------------- NAME_MAX on the target
def test_a_name_longer_than_the_repositorys_name_max_is_named(tmp_path, short_names_folder):
    home = tmp_path / "home"
    home.mkdir()
    (home / "ok.txt").write_bytes(b"ok\n")
    long_file, long_folder = "f" * 150 + ".txt", "D" * 150
    (home / long_file).write_bytes(b"too long a name here\n")
    (home / long_folder).mkdir()
    (home / long_folder / "in.txt").write_bytes(b"inside\n")
    repository = short_names_folder / "repo"  # names up to 100 bytes (tests/fixtures/short_names_fs.py)
    done = _backup(_config(tmp_path / "config.yaml", repository, home))
    reported, recorded = _named(done, repository)
    for failed in (reported, recorded):  # named in the source, not in the partial snapshot (gone by now)
        assert f"home: {home / long_file} (File name too long)" in failed, failed
        assert f"home: {home / long_folder} (File name too long)" in failed, failed
    data = repository / "snapshots" / json.loads(done.stdout)["snapshot"] / "data" / "home"
    assert (data / "ok.txt").read_bytes() == b"ok\n"


# ---------------------------------------------------------------- PATH_MAX in the source
def test_a_path_longer_than_path_max_is_named(tmp_path):
    need_programs("rsync")
    home = tmp_path / "home"
    home.mkdir()
    (home / "ok.txt").write_bytes(b"ok\n")
    deep = home
    for level in range(18):  # 18 × 251 bytes: past PATH_MAX (4096) below the source
        deep = deep / (f"d{level:02d}" + "x" * 247)
    fd = os.open(home, os.O_RDONLY)
    try:  # one component at a time: the whole path is too long for one call
        for part in deep.relative_to(home).parts:
            os.mkdir(part, dir_fd=fd)
            inner = os.open(part, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        written = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(written, b"deep\n")
        os.close(written)
    finally:
        os.close(fd)
    repository = tmp_path / "repo"
    try:
        done = _backup(_config(tmp_path / "config.yaml", repository, home))
        reported, recorded = _named(done, repository)
        for failed in (reported, recorded):
            assert any(f.startswith(f"home: {home}/d00") and f.endswith(" (path longer than PATH_MAX, by 171 bytes)")
                       for f in failed), [f[:200] for f in failed]
    finally:
        subprocess.run(["rm", "-rf", str(home)], capture_output=True)  # rm walks deeper than Python's rmtree here
