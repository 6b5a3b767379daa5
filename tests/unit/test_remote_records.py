"""The repository's remote programs that answer in NUL-separated records (resources/remote/
overview.sh and trust-probe.sh) run here with `sh`, exactly as the remote shell runs them, read
by `read_overview` and `read_probe`: on every state they tell the same as the local store's own
reading of the same folder (the oracle), a zeroed snapshot.json (NUL bytes) and names with
spaces and backslashes included. (Over a real sshd: tests/integration/test_repository_trust.py
and every remote backup test.)"""

import os
from pathlib import Path

import pytest

from travelsync.location import parse_location
from travelsync.repository.local_store import LocalStore
from travelsync.repository.remote_store import RemoteStore

FULL, INCR, NEW = "20261122T023000Z-full", "20261123T023000Z-incr", "20261124T023000Z-incr"


def both(root: Path):
    remote = RemoteStore(parse_location(f"marc@nas:{root}"), ssh=None)
    remote._argv = lambda script: ["sh", "-c", script]  # the remote shell, here
    return remote.overview(), LocalStore(parse_location(str(root))).overview()


def snapshot(root: Path, name: str, document: bytes | None = b'{"id": "x"}\n') -> Path:
    folder = root / "snapshots" / name
    (folder / "data" / "home").mkdir(parents=True)
    if document is not None:
        (folder / "snapshot.json").write_bytes(document)
    return folder


def repository(root: Path) -> Path:
    root.mkdir()
    (root / "travelsync.repo").write_bytes(b"format: 1\n")
    (root / "lock").touch()
    snapshot(root, FULL)
    snapshot(root, INCR, b"\0" * 64)  # zeroed by a power cut
    snapshot(root, "20261121T023000Z-full", None)  # no snapshot.json
    (root / "partial" / NEW).mkdir(parents=True)
    (root / "snapshots" / "stray-file").write_text("not a snapshot folder\n")
    os.symlink(f"snapshots/{INCR}", root / "latest")
    return root


def states():
    def missing(root):
        return root

    def only_the_lock(root):
        root.mkdir()
        (root / "lock").touch()
        return root

    def full(root):
        return repository(root)

    def links_where_none_belong(root):
        repository(root)
        (root / "snapshots" / FULL / "data" / "home").rmdir()
        os.symlink("/etc", root / "snapshots" / FULL / "data" / "home")
        os.symlink("/tmp", root / "readers")
        os.symlink("../x y\\z", root / "partial" / "odd name")
        return root

    return [missing, only_the_lock, full, links_where_none_belong]


@pytest.mark.parametrize("make", states(), ids=lambda make: make.__name__)
def test_the_remote_overview_tells_what_the_local_store_reads(tmp_path, make):
    remote, local = both(make(tmp_path / "repo"))
    assert remote == local


def test_a_snapshot_json_that_cannot_be_read_there_is_named(tmp_path, monkeypatch):
    root = repository(tmp_path / "repo")
    shim = tmp_path / "bin" / "base64"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nfor last; do :; done\ncase $last in *{FULL}*) exit 1;; esac\n"
                    f"exec {__import__('shutil').which('base64')} \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}:{os.environ['PATH']}")
    remote, _ = both(root)
    assert remote.unreadable == {FULL: "reading it failed on the remote"}
    assert (FULL, None) in remote.documents and remote.repo_file == b"format: 1\n"


def judged(root: Path, create: bool = False):
    remote = RemoteStore(parse_location(f"marc@nas:{root}"), ssh=None)
    remote._argv = lambda script: ["sh", "-c", script]
    return remote.trust_problem(create=create)


@pytest.mark.parametrize("layout", ["private", "others-may-write-above", "sticky-above", "link-to-shared",
                                    "new"])
def test_the_remote_trust_probe_judges_as_the_local_store_does(tmp_path, layout):
    base = tmp_path / "b d\\x"  # a space and a backslash on the way
    base.mkdir()
    repo = base / "repo"
    if layout == "others-may-write-above":
        base.chmod(0o777)
    elif layout == "sticky-above":
        base.chmod(0o1777)
    elif layout == "link-to-shared":
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o777)
        shared.chmod(0o777)
        (shared / "repo").mkdir()
        repo.symlink_to(shared / "repo")
    if layout not in ("new", "link-to-shared"):
        repo.mkdir()
    if layout != "new":
        (repo / "lock").touch()
    remote = judged(repo, create=layout == "new")
    local = LocalStore(parse_location(str(repo))).trust_problem()
    assert remote == local
    assert (local is None) == (layout in ("private", "sticky-above", "new")), local
    if layout == "new":
        assert repo.is_dir() and repo.stat().st_mode & 0o777 == 0o700


def test_a_lock_that_is_a_symlink_is_refused(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "lock").symlink_to("/etc/passwd")
    assert judged(repo) == f"{repo}/lock is a symlink; travelsync never follows a symlink inside a repository"
