"""prune's remote step (resources/remote/retire.sh) run here with `sh`, exactly as the remote
shell runs it: a snapshot no one reads is renamed out of the listing and its reader lock file
removed; one a reader holds (a shared flock on readers/<id>) is left exactly as it is (exit 76,
named RETIRE_READ). (Over a real sshd: the prune-during-read drill.)"""

import fcntl
import os

import pytest

from tests.conftest import need_programs
from travelsync.errors import TravelsyncError
from travelsync.location import parse_location
from travelsync.repository.remote_store import RemoteStore

ID = "20261122T023000Z-full"


@pytest.fixture
def store(tmp_path):
    need_programs("flock")
    (tmp_path / "repo" / "snapshots" / ID / "data").mkdir(parents=True)
    store = RemoteStore(parse_location(f"marc@nas:{tmp_path / 'repo'}"), ssh=None)
    store._argv = lambda script: ["sh", "-c", script]  # the remote shell, here
    return store


def test_a_snapshot_no_one_reads_is_renamed_and_its_reader_file_removed(store, tmp_path):
    root = tmp_path / "repo"
    (root / "partial").mkdir()
    assert store.retire_unless_read(ID, f"partial/{ID}.deleting") is True
    assert not (root / "snapshots" / ID).exists() and (root / "partial" / f"{ID}.deleting" / "data").is_dir()
    assert (root / "readers").is_dir() and not (root / "readers" / ID).exists()


def test_a_snapshot_a_reader_holds_is_left_as_it_is(store, tmp_path):
    root = tmp_path / "repo"
    (root / "readers").mkdir()
    with open(root / "readers" / ID, "a") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        assert store.retire_unless_read(ID, f"partial/{ID}.deleting") is False
    assert (root / "snapshots" / ID / "data").is_dir() and not (root / "partial").exists()
    assert (root / "readers" / ID).exists()


def test_a_failure_says_what_failed(store, tmp_path):
    (tmp_path / "repo" / "partial").write_text("not a folder\n")
    with pytest.raises(TravelsyncError, match=r"^repository marc@nas:.*: mv: "):
        store.retire_unless_read(ID, f"partial/{ID}.deleting")
    assert (tmp_path / "repo" / "snapshots" / ID / "data").is_dir() and os.path.exists(tmp_path / "repo" / "readers" / ID)
