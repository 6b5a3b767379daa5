"""A repository that another user could change is refused, a new one is private, and nothing
inside a repository is followed through a symlink (issue 15, findings 1 and 5).

Real unprivileged users (tests/fixtures/users.py), real rsync, and the real sshd on 127.0.0.1
for the remote repository (its ssh user is root, as on a NAS where backups land as root).
"""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.integration.test_backup_engine import Rig, backup, make_tree, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

@pytest.fixture
def shared_base():
    """A folder other users can reach (0755, under /tmp) holding `pub`, sticky and world-writable as /tmp is."""
    base = Path(tempfile.mkdtemp(prefix="travelsync-trust-", dir="/tmp"))
    base.chmod(0o755)
    (base / "pub").mkdir()
    (base / "pub").chmod(0o1777)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def rig_at(tmp_path: Path, repository: Path, mode: str, sshd=None) -> Rig:
    rig = Rig(tmp_path, mode, sshd)
    rig.repo = repository
    rig.write_config()
    make_tree(rig.source, False)
    return rig


def modes(root: Path) -> dict:
    """Relative path → permission bits of the repository's own folders and files (data/ is the
    sources' own modes, under these)."""
    found = {".": stat.S_IMODE(root.lstat().st_mode)}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if "data" in rel.parts[:-2] or path.is_symlink():
            continue
        found[str(rel)] = stat.S_IMODE(path.lstat().st_mode)
    return found


# ---------------------------------------------------------------- finding 1: whose repository
@pytest.mark.parametrize("mode", ["local", "remote"])
def test_a_repository_folder_another_user_made_first_is_refused(cli, tmp_path, shared_base, other_user, mode,
                                                                 request):
    repository = shared_base / "pub" / "repo"
    other_user.run("mkdir", "-m", "777", str(repository))  # made first, by someone else
    sshd = request.getfixturevalue("sshd_server") if mode == "remote" else None
    rig = rig_at(tmp_path, repository, mode, sshd)
    result = cli("--config", rig.config, "backup", "--full")
    assert result.exit_code == 1, result.stderr
    assert (f"{repository} belongs to owner {other_user.name} (uid {other_user.uid}), mode 0777, "
            f"in {shared_base / 'pub'}, which other users may write in (owner root (uid 0), mode 1777)") in result.stderr
    assert "another user could change the backups" in result.stderr
    assert list(repository.iterdir()) == []  # not even the lock file


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_a_repository_below_a_folder_others_may_write_in_is_refused_for_restore_too(cli, tmp_path, shared_base,
                                                                                   mode, request):
    """The repository is ours, but the folder above it is (or becomes) world-writable, not
    sticky: anyone could rename it away and put a forged one in its place. Backup and restore
    both refuse it, naming the folder, its owner and its mode."""
    sshd = request.getfixturevalue("sshd_server") if mode == "remote" else None
    above = shared_base / "backups"
    above.mkdir(mode=0o755)
    rig = rig_at(tmp_path, above / "repo", mode, sshd)
    backup(cli, rig, "--full")
    above.chmod(0o777)
    for command in (["backup"], ["snapshots"], ["restore", "--path", "home", "--to", str(tmp_path / "laptop")]):
        result = cli("--config", rig.config, *command)
        assert result.exit_code == 1, (command, result.stderr)
        assert f"{above} is writable by other users (owner root (uid 0), mode 0777)" in result.stderr, result.stderr
    assert not (tmp_path / "laptop").exists()


def test_a_repository_in_a_sticky_shared_folder_is_fine_when_it_is_ours(cli, tmp_path, shared_base, other_user):
    """/tmp's case: others may write in the sticky folder, not rename or delete what is ours."""
    rig = rig_at(tmp_path, shared_base / "pub" / "repo", "local")
    backup(cli, rig, "--full")
    assert stat.S_IMODE(rig.repo.stat().st_mode) == 0o700
    denied = other_user.run("mv", str(rig.repo), str(shared_base / "pub" / "moved"), check=False)
    assert denied.returncode != 0 and rig.repo.is_dir()


def test_the_lock_checks_the_folder_it_made_before_opening_anything_in_it(tmp_path, shared_base, other_user):
    """Between the check before the lock and the lock itself, another user could make the
    missing folder: the lock makes it (or finds it), then checks it before touching the lock file."""
    from travelsync.errors import TravelsyncError
    from travelsync.location import Location
    from travelsync.repository.local_store import LocalStore

    repository = shared_base / "pub" / "late"
    store = LocalStore(Location(str(repository)))
    assert store.trust_problem() is None  # missing: fine so far
    other_user.run("mkdir", "-m", "777", str(repository))
    with pytest.raises(TravelsyncError, match=f"{repository} belongs to owner {other_user.name}"):
        with store.lock("backup"):
            pass
    assert list(repository.iterdir()) == []


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_a_new_repository_is_private_folders_0700_files_0600(cli, tmp_path, mode, request):
    """Over ssh a new repository used to be 0755 with 0644 files (the session's umask): any
    user of the NAS could list every file name and hash in the manifests."""
    sshd = request.getfixturevalue("sshd_server") if mode == "remote" else None
    old = os.umask(0o022)  # a usual session umask, for sshd's sessions as for this process
    try:
        rig = rig_at(tmp_path, tmp_path / "nested" / "repo", mode, sshd)
        backup(cli, rig, "--full")
        assert run(cli, rig, "backup", "--incremental").exit_code == 0  # unchanged: runs.json written
    finally:
        os.umask(old)
    found = modes(rig.repo)
    snapshot = next(name for name in os.listdir(rig.repo / "snapshots"))
    for name in (".", "snapshots", "partial", f"snapshots/{snapshot}", f"snapshots/{snapshot}/data"):
        assert found.pop(name) == 0o700, name
    for name in ("travelsync.repo", "lock", "runs.json", f"snapshots/{snapshot}/snapshot.json",
                 f"snapshots/{snapshot}/manifest.tsv.zst", f"snapshots/{snapshot}/changes.zst"):
        assert found.pop(name) == 0o600, name
    assert found.pop(f"snapshots/{snapshot}/data/home") == stat.S_IMODE(rig.source.stat().st_mode)  # the source's own
    assert found == {}, found


# ---------------------------------------------------------------- finding 5: no symlink followed
@pytest.fixture(params=["local", "remote"])
def snapshotted(request, tmp_path, cli):
    sshd = request.getfixturevalue("sshd_server") if request.param == "remote" else None
    rig = rig_at(tmp_path, tmp_path / "repo", request.param, sshd)
    backup(cli, rig, "--full")
    outside = tmp_path / "outside"
    (outside / "data" / "home").mkdir(parents=True)
    (outside / "data" / "home" / "keep.txt").write_bytes(b"not the repository's\n")
    (outside / "file").write_bytes(b"someone's file\n")
    return rig, outside


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_a_symlink_at_a_partial_snapshot_is_refused_and_its_target_untouched(cli, snapshotted):
    """A link at partial/<id> was "resumed": rsync --delete emptied its target and the commit
    renamed the link into snapshots/."""
    rig, outside = snapshotted
    before, snapshots = tree(outside), sorted(os.listdir(rig.repo / "snapshots"))
    (rig.repo / "partial" / "20261101T000000Z-full").symlink_to(outside)
    result = cli("--config", rig.config, "backup", "--full")
    assert result.exit_code == 1, result.stderr
    assert "partial/20261101T000000Z-full is a symlink" in result.stderr
    assert "never follows a symlink inside a repository" in result.stderr
    assert tree(outside) == before
    assert sorted(os.listdir(rig.repo / "snapshots")) == snapshots


@pytest.mark.parametrize("name", ["runs.json", "lock", "snapshots/20261201T000000Z-full", "partial"])
def test_a_symlink_anywhere_a_repository_holds_none_is_refused(cli, snapshotted, name):
    rig, outside = snapshotted
    target = outside / "file" if name in ("runs.json", "lock") else outside
    path = rig.repo / name
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.symlink_to(target)
    before = tree(outside)
    for command in (["backup", "--incremental"], ["snapshots"]):
        result = cli("--config", rig.config, *command)
        assert result.exit_code == 1, (command, result.stderr)
        assert f"{name} is a symlink" in result.stderr, result.stderr
    assert tree(outside) == before
    assert path.is_symlink()


def test_a_symlink_at_a_snapshots_source_folder_is_refused_for_restore(cli, snapshotted, tmp_path):
    """A snapshot's data/<source> led elsewhere would restore another tree as the snapshot's."""
    rig, outside = snapshotted
    snapshot = next(iter(os.listdir(rig.repo / "snapshots")))
    shutil.rmtree(rig.data(snapshot))
    rig.data(snapshot).symlink_to(outside / "data" / "home")
    result = cli("--config", rig.config, "restore", "--path", "home", "--to", str(tmp_path / "laptop"))
    assert result.exit_code == 1, result.stderr
    assert f"snapshots/{snapshot}/data/home is a symlink" in result.stderr
    assert not (tmp_path / "laptop").exists()


def test_a_symlink_at_the_lock_is_refused_by_the_lock_itself(tmp_path):
    """Even when nothing checked the repository before (the lock is the first thing a run takes)."""
    from travelsync.errors import TravelsyncError
    from travelsync.location import Location
    from travelsync.repository.local_store import LocalStore

    (tmp_path / "repo").mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's own\n")
    (tmp_path / "repo" / "lock").symlink_to(victim)
    with pytest.raises(TravelsyncError, match="lock is a symlink"):
        with LocalStore(Location(str(tmp_path / "repo"))).lock("backup"):
            pass
    assert victim.read_bytes() == b"root's own\n"


def test_repository_files_replace_a_symlink_rather_than_write_through_it(tmp_path):
    from travelsync.location import Location
    from travelsync.repository.local_store import LocalStore

    (tmp_path / "repo").mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's own\n")
    store = LocalStore(Location(str(tmp_path / "repo")))
    for name in ("runs.json", "manifest"):
        (tmp_path / "repo" / name).symlink_to(victim)
    store.write_atomic("runs.json", b"{}\n")
    with store.open_for_writing("manifest") as handle:
        handle.write(b"m")
    assert victim.read_bytes() == b"root's own\n"
    for name in ("runs.json", "manifest"):
        path = tmp_path / "repo" / name
        assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_check_costs_one_round_trip_over_ssh(tmp_path, sshd_server):
    """The remote walk fetches every folder above the repository in one command."""
    from travelsync.config import load_config
    from travelsync.repository import open_repository

    rig = rig_at(tmp_path, tmp_path / "repo", "remote", sshd_server)
    store = open_repository(load_config(rig.config)).store
    calls = []
    original = store.run
    store.run = lambda script, **kwargs: calls.append(script) or original(script, **kwargs)
    assert store.trust_problem() is None
    assert len(calls) == 1
