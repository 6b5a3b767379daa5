"""The remote commit program (resources/remote/commit.sh) run here with `sh`, exactly as the
remote shell runs it, with one command at a time made to fail (a PATH shim says EIO or
ENOSPC at its Nth call): the message names the true state, the files agree with it, and no
temporary file is left. (The same program against a real sshd: tests/integration.)"""

import errno
import os
import shutil
from pathlib import Path

import pytest

from travelsync.errors import TravelsyncError
from travelsync.location import parse_location
from travelsync.repository.remote_store import RemoteStore

PREVIOUS, NEW = "20261122T023000Z-full", "20261123T023000Z-incr"


def shim(folder: Path, program: str, fail_at: int, message: str) -> None:
    """`program` that fails (exit 1, `message` on stderr) at its `fail_at`-th call, else runs the real one."""
    real = shutil.which(program)
    script = folder / program
    script.write_text(f"#!/bin/sh\nn=0; [ -f {folder}/{program}.calls ] && read n < {folder}/{program}.calls; n=$((n + 1))\n"
                      f"echo $n > {folder}/{program}.calls\n"
                      f"if [ $n -eq {fail_at} ]; then echo \"{program}: {message}\" >&2; exit 1; fi\n"
                      f"exec {real} \"$@\"\n")
    script.chmod(0o755)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "snapshots" / PREVIOUS / "data").mkdir(parents=True)
    (root / "partial" / NEW / "data" / "home").mkdir(parents=True)
    (root / "partial" / NEW / "data" / "home" / "file").write_bytes(b"new")
    os.symlink(f"snapshots/{PREVIOUS}", root / "latest")
    return root


def commit(repo: Path, tmp_path: Path, monkeypatch, program=None, fail_at=0, message="Input/output error"):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir(exist_ok=True)
    if program:
        shim(bin_folder, program, fail_at, message)
    monkeypatch.setenv("PATH", f"{bin_folder}:{os.environ['PATH']}")
    store = RemoteStore(parse_location(f"marc@nas:{repo}"), ssh=None)
    store._argv = lambda script: ["sh", "-c", script]  # the remote shell, here
    store.commit(f"partial/{NEW}", b'{"id": "%s"}\n' % NEW.encode(), f"snapshots/{NEW}", "latest")


def leftovers(repo: Path) -> list[str]:
    return [str(p.relative_to(repo)) for p in repo.rglob("*") if p.name.endswith(".tmp")]


def test_a_clean_commit_swaps_latest_and_leaves_nothing(repo, tmp_path, monkeypatch):
    commit(repo, tmp_path, monkeypatch)
    assert os.readlink(repo / "latest") == f"snapshots/{NEW}"
    assert (repo / "snapshots" / NEW / "snapshot.json").read_bytes() == b'{"id": "%s"}\n' % NEW.encode()
    assert (repo / "snapshots" / NEW / "snapshot.json").stat().st_mode & 0o077 == 0  # umask 077
    assert not (repo / "partial" / NEW).exists() and not leftovers(repo)


@pytest.mark.parametrize("program,fail_at", [("sync", 1), ("cat", 1), ("mv", 1), ("sync", 3), ("mv", 2)],
                         ids=["durable", "json-write", "json-rename", "json-folder-sync", "commit-rename"])
def test_a_failure_before_the_rename_commits_nothing(repo, tmp_path, monkeypatch, program, fail_at):
    with pytest.raises(TravelsyncError) as caught:
        commit(repo, tmp_path, monkeypatch, program, fail_at)
    assert str(caught.value).startswith("nothing committed: ") and "Input/output error" in str(caught.value)
    assert f"partial/{NEW} is kept for the next run" in str(caught.value)
    assert (repo / "partial" / NEW / "data" / "home" / "file").exists() and not (repo / "snapshots" / NEW).exists()
    assert os.readlink(repo / "latest") == f"snapshots/{PREVIOUS}"
    assert not leftovers(repo)


@pytest.mark.parametrize("program,fail_at", [("sync", 4), ("ln", 1), ("mv", 3), ("sync", 5)],
                         ids=["rename-sync", "new-link", "swap", "final-sync"])
def test_a_failure_after_the_rename_says_the_snapshot_is_committed(repo, tmp_path, monkeypatch, program, fail_at):
    with pytest.raises(TravelsyncError) as caught:
        commit(repo, tmp_path, monkeypatch, program, fail_at)
    message = str(caught.value)
    assert message.startswith(f"snapshot {NEW} is committed (listed complete) but the commit did not finish: ")
    assert (repo / "snapshots" / NEW / "snapshot.json").exists() and not (repo / "partial" / NEW).exists()
    now = os.readlink(repo / "latest")
    assert message.endswith("`latest` points at it" if now == f"snapshots/{NEW}" else f"`latest` still points at {PREVIOUS}")
    assert not leftovers(repo)


def test_no_space_while_writing_snapshot_json_is_the_engines_no_space(repo, tmp_path, monkeypatch):
    with pytest.raises(OSError) as caught:
        commit(repo, tmp_path, monkeypatch, "cat", 1, "write error: No space left on device")
    assert caught.value.errno == errno.ENOSPC
    assert (repo / "partial" / NEW).exists() and not leftovers(repo)
