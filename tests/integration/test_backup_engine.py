"""Backups with the real rsync, into a local repository and into one over ssh (a real sshd on
127.0.0.1): the same suite, parametrized. Crash, disk-full and concurrency cases included."""

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import need, need_programs, need_root, pids_where

pytestmark = pytest.mark.timeout(120)

ODD_NAMES = [b"-dash", b"with space", b"co:lon", b"new\nline", b"bad\xffbyte", b"--delete", b"a\\back"]


# ---------------------------------------------------------------- helpers
class Rig:
    """A source tree, a repository (local or over ssh) and a config file naming both."""

    def __init__(self, base: Path, mode: str, sshd=None):
        self.base, self.mode, self.sshd = base, mode, sshd
        self.source = base / "source"
        self.repo = base / "repo"
        self.config = base / "config.yaml"
        self.source.mkdir()
        self.write_config()

    def write_config(self, **rsync):
        repository = str(self.repo) if self.mode == "local" else self.sshd.location(str(self.repo))
        document = {"repository": repository,
                    "sources": [{"name": "home", "path": str(self.source), "exclude": ["*.tmp"]}],
                    "rsync": {"retries": 0, "retry_delay": 0.01, **rsync}}
        if self.mode == "remote":
            document["ssh"] = self.sshd.ssh_config
        self.config.write_text(yaml.safe_dump(document))

    def snapshot_dirs(self) -> list[Path]:
        folder = self.repo / "snapshots"
        return sorted(folder.iterdir()) if folder.exists() else []

    def data(self, snapshot: str) -> Path:
        return self.repo / "snapshots" / snapshot / "data" / "home"


@pytest.fixture(params=["local", "remote"])
def rig(request, tmp_path):
    need_programs("rsync")
    sshd = request.getfixturevalue("sshd_server") if request.param == "remote" else None
    return Rig(tmp_path, request.param, sshd)


@pytest.fixture
def remote_rig(tmp_path, sshd_server):
    return Rig(tmp_path, "remote", sshd_server)


@pytest.fixture
def local_rig(tmp_path):
    need_programs("rsync")
    return Rig(tmp_path, "local")


def run(cli, rig, *args):
    return cli("--config", rig.config, *args)


def backup(cli, rig, *args):
    result = run(cli, rig, "--json", "backup", *args)
    assert result.exit_code in (0, 3), result.stderr
    return result.json


def xattrs_supported(folder: Path) -> bool:
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.travelsync", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


def make_tree(root: Path, with_xattrs: bool) -> None:
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"alpha\n" * 100)
    (root / "docs" / "deep" / "b.bin").write_bytes(os.urandom(50_000))
    (root / "docs" / "gone.txt").write_bytes(b"to be deleted")
    (root / "docs" / "skip.tmp").write_bytes(b"excluded")
    (root / "script.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o750)
    (root / "secret").write_bytes(b"s")
    os.chmod(root / "secret", 0o600)
    for name in ODD_NAMES:
        with open(os.path.join(os.fsencode(root), name), "wb") as handle:
            handle.write(b"odd " + name)
    os.symlink("docs/a.txt", root / "link")
    os.symlink("nowhere", root / "dangling")
    os.link(root / "docs" / "a.txt", root / "hardlink")
    if with_xattrs:
        os.setxattr(root / "docs" / "a.txt", "user.comment", b"kept")
    past = 1_700_000_000_123_456_789
    for path in (root / "docs" / "a.txt", root / "secret", root / "script.sh"):
        os.utime(path, ns=(past, past))


def describe(root: Path, with_xattrs: bool) -> dict:
    """Everything a backup must keep, per path (bytes): type, mode, mtime, contents/target, xattrs,
    plus the groups of hard-linked names."""
    found, inodes = {}, {}
    base = os.fsencode(root)
    for folder, dirs, files in os.walk(base):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, base)
            info = os.lstat(path)
            entry = [stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode)]
            if stat.S_ISLNK(info.st_mode):
                entry.append(os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entry += [info.st_mtime_ns, hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).hexdigest()]
                inodes.setdefault(info.st_ino, []).append(rel)
                if with_xattrs:
                    entry.append(sorted((k, os.getxattr(path, k)) for k in os.listxattr(path) if k.startswith("user.")))
            found[rel] = tuple(entry)
    groups = sorted(tuple(sorted(g)) for g in inodes.values() if len(g) > 1)
    return {"entries": found, "hardlinks": groups}


def inode_map(root: Path) -> dict:
    base = os.fsencode(root)
    result = {}
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            result[os.path.relpath(path, base)] = os.lstat(path).st_ino
    return result


def expected(rig, with_xattrs):
    """The source as a snapshot should hold it: excluded files left out."""
    description = describe(rig.source, with_xattrs)
    description["entries"].pop(b"docs/skip.tmp")
    return description


# ---------------------------------------------------------------- the suite, local and remote
def test_full_then_incremental_equals_source_and_shares_inodes(cli, rig):
    with_xattrs = xattrs_supported(rig.base)
    make_tree(rig.source, with_xattrs)
    first = backup(cli, rig, "--full")
    assert first["kind"] == "full" and first["files_transferred"] >= 10
    assert describe(rig.data(first["snapshot"]), with_xattrs) == expected(rig, with_xattrs)

    (rig.source / "docs" / "a.txt").write_bytes(b"changed\n")  # hard link `hardlink` changes with it
    (rig.source / "docs" / "new.txt").write_bytes(b"new file")
    (rig.source / "docs" / "gone.txt").unlink()
    second = backup(cli, rig, "--incremental")
    assert second["kind"] == "incremental" and second["snapshot"] != first["snapshot"]
    assert describe(rig.data(second["snapshot"]), with_xattrs) == expected(rig, with_xattrs)

    old, new = inode_map(rig.data(first["snapshot"])), inode_map(rig.data(second["snapshot"]))
    assert new[b"docs/deep/b.bin"] == old[b"docs/deep/b.bin"]  # unchanged: one inode
    assert new[b"-dash"] == old[b"-dash"]
    assert new[b"docs/a.txt"] != old[b"docs/a.txt"]  # changed: a new copy
    assert b"docs/gone.txt" not in new

    third = backup(cli, rig, "--full")
    fresh = inode_map(rig.data(third["snapshot"]))
    assert not set(fresh.values()) & (set(old.values()) | set(new.values()))  # a full shares nothing

    listing = run(cli, rig, "--json", "snapshots")
    assert listing.exit_code == 0
    rows = listing.json
    assert [r["id"] for r in rows] == [first["snapshot"], second["snapshot"], third["snapshot"]]
    assert [r["kind"] for r in rows] == ["full", "incremental", "full"]
    assert all(r["status"] == "complete" and r["files"] > 0 and r["bytes"] > 0 for r in rows)
    assert os.readlink(rig.repo / "latest") == f"snapshots/{third['snapshot']}"
    table = run(cli, rig, "snapshots")
    assert second["snapshot"] in table.stdout and "(latest)" in table.stdout


def test_unchanged_incremental_is_recorded_not_copied(cli, rig, isolated_dirs):
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    again = backup(cli, rig, "--incremental")
    assert again["no_change"] is True and again["snapshot"] == first["snapshot"]
    assert len(rig.snapshot_dirs()) == 1
    from travelsync.config import load_config
    from travelsync.repository import open_repository

    runs = open_repository(load_config(rig.config)).successful_runs()
    assert [kind for kind, _ in runs] == ["full", "incremental"]
    (rig.source / "docs" / "new.txt").write_bytes(b"x")
    changed = backup(cli, rig, "--incremental")
    assert changed["no_change"] is False and len(rig.snapshot_dirs()) == 2


def test_verify_finds_flipped_byte_missing_and_extra(cli, rig):
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    (rig.source / "docs" / "new.txt").write_bytes(b"new")
    second = backup(cli, rig, "--incremental")
    assert run(cli, rig, "verify").exit_code == 0
    assert run(cli, rig, "verify", first["snapshot"]).exit_code == 0
    data = rig.data(second["snapshot"])
    blob = data / "docs" / "new.txt"  # a file of its own, not hard-linked to the full
    blob.write_bytes(b"neW")
    (data / "script.sh").unlink()
    (data / "intruder").write_bytes(b"?")
    result = run(cli, rig, "--json", "verify", second["snapshot"])
    assert result.exit_code == 1
    report = result.json
    assert report["corrupted"] == ["home/docs/new.txt"]
    assert report["missing"] == ["home/script.sh"]
    assert report["extra"] == ["home/intruder"]


def manifest_lines(rig, snapshot: str) -> dict:
    """{path: (size, digest)} of a snapshot's manifest (read from the repository's disk)."""
    from travelsync.verify.manifest import Manifest

    with open(rig.repo / "snapshots" / snapshot / "manifest.tsv.zst", "rb") as handle:
        manifest = Manifest(handle)
        assert manifest.version == 2 and manifest.algorithm == "xxh128"
        return {entry.path: (entry.size, entry.digest) for entry in manifest}


def rsync_checksums(root: Path) -> dict:
    """What rsync itself computes (`rsync -c` listing) for every file under root."""
    from travelsync.location import Location
    from travelsync.verify.sums import each_checksum

    found = {}
    each_checksum(None, None, Location(str(root)), found.__setitem__)
    return found


def test_manifest_takes_rsyncs_checksums_and_incremental_hashes_nothing_unchanged(rig):
    """The full's checksums are the ones rsync computed while sending (nothing read twice);
    the incremental inherits every unchanged line from the full and takes the changed and new
    files' checksums from rsync: no file is hashed again by travelsync."""
    from travelsync.backup.engine import run_backup
    from travelsync.config import load_config

    for index in range(30):
        (rig.source / f"dir{index % 3}").mkdir(exist_ok=True)
        (rig.source / f"dir{index % 3}" / f"file{index}").write_bytes(os.urandom(100 + index))
    (rig.source / "tab\tand\\#012name").write_bytes(b"odd")
    config = load_config(rig.config)
    full = run_backup(config, kind="full")
    assert (full.from_rsync, full.inherited, full.hashed) == (31, 0, 0)
    full_lines = manifest_lines(rig, full.snapshot)
    source_sums = {b"home/" + path: digest for path, digest in rsync_checksums(rig.source).items()}
    assert {path: digest for path, (_size, digest) in full_lines.items()} == source_sums

    (rig.source / "dir1" / "file1").write_bytes(b"changed")
    (rig.source / "dir2" / "new").write_bytes(b"new")
    (rig.source / "dir0" / "file0").unlink()
    incremental = run_backup(config, kind="incremental")
    assert (incremental.from_rsync, incremental.inherited, incremental.hashed) == (2, 29, 0)
    lines = manifest_lines(rig, incremental.snapshot)
    assert b"home/dir0/file0" not in lines
    unchanged = set(full_lines) - {b"home/dir0/file0", b"home/dir1/file1"}
    assert {p: lines[p] for p in unchanged} == {p: full_lines[p] for p in unchanged}
    sums = rsync_checksums(rig.source)
    assert lines[b"home/dir1/file1"] == (7, sums[b"dir1/file1"]) and lines[b"home/dir2/new"] == (3, sums[b"dir2/new"])


def test_hard_link_followers_and_an_old_sha256_manifest_still_verify(cli, rig):
    """Files rsync did not send (a hard-link follower) are hashed by rsync afterwards; a
    version-1 (sha256) manifest of an older snapshot is still verified, and an incremental on
    top of it hashes what it cannot inherit."""
    import zstandard

    from travelsync.verify.manifest import HEADER_V1, escape

    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    lines = manifest_lines(rig, first["snapshot"])
    assert b"home/hardlink" in lines and lines[b"home/hardlink"] == lines[b"home/docs/a.txt"]
    data = rig.data(first["snapshot"])
    old = HEADER_V1 + b"".join(
        b"%s\t%d\t0\t%s\n" % (escape(path), size, hashlib.sha256(
            (data.parent / os.fsdecode(path)).read_bytes()).hexdigest().encode())
        for path, (size, _digest) in lines.items())
    manifest = rig.repo / "snapshots" / first["snapshot"] / "manifest.tsv.zst"
    manifest.write_bytes(zstandard.ZstdCompressor().compress(old))
    assert run(cli, rig, "verify", first["snapshot"]).exit_code == 0
    (data / "secret").write_bytes(b"S")  # a flipped byte (the source's `secret` is a separate inode)
    result = run(cli, rig, "--json", "verify", first["snapshot"])
    assert result.exit_code == 1 and result.json["corrupted"] == ["home/secret"]
    (data / "secret").write_bytes(b"s")
    (rig.source / "docs" / "new.txt").write_bytes(b"new")
    second = backup(cli, rig, "--incremental")
    assert run(cli, rig, "verify", second["snapshot"]).exit_code == 0
    assert set(manifest_lines(rig, second["snapshot"])) == set(lines) | {b"home/docs/new.txt"}


def test_prune_dry_run_then_prune_keeps_latest_last_full_and_trip_snapshots(cli, rig, isolated_dirs):
    make_tree(rig.source, False)
    ids = []
    for index, kind in enumerate(["--full", "--incremental", "--full", "--incremental", "--full"]):
        (rig.source / f"file{index}").write_bytes(b"%d" % index)
        ids.append(backup(cli, rig, kind)["snapshot"])
    state = isolated_dirs / "state" / "travelsync"
    state.mkdir(parents=True)
    (state / "trip.json").write_text(json.dumps({"protected_snapshots": [ids[1]]}))
    rig.config.write_text(rig.config.read_text() + "retention: {full: 1}\n")
    dry = run(cli, rig, "--json", "prune", "--dry-run")
    assert dry.exit_code == 0
    assert dry.json["deleted"] == [ids[0], ids[2], ids[3]]
    assert len(rig.snapshot_dirs()) == 5  # a dry run deletes nothing
    done = run(cli, rig, "--json", "prune")
    assert done.exit_code == 0 and done.json["deleted"] == [ids[0], ids[2], ids[3]]
    assert [p.name for p in rig.snapshot_dirs()] == sorted([ids[1], ids[4]])
    assert not list((rig.repo / "partial").iterdir())
    assert run(cli, rig, "verify", ids[1]).exit_code == 0  # the trip's incremental survives its parent


def test_prune_leaves_a_snapshot_a_reader_holds_and_a_late_reader_is_told(cli, rig):
    """The reader lock on both stores: a snapshot read while prune runs is kept and named
    (`in_use`), deleted by the next prune; a reader that comes after the deletion is told (2)."""
    from travelsync.config.load import load_config
    from travelsync.errors import UsageError
    from travelsync.repository import open_repository

    make_tree(rig.source, False)
    ids = []
    for day, kind in enumerate(("--full", "--incremental", "--full")):
        (rig.source / f"day{day}").write_bytes(b"%d" % day)
        done = cli("--config", rig.config, "--json", "backup", kind, env={"TRAVELSYNC_NOW": f"2026-11-2{day + 2}T02:30:00+00:00"})
        ids.append(done.json["snapshot"])
    rig.config.write_text(rig.config.read_text() + "retention: {full: 1}\n")
    repository = open_repository(load_config(rig.config))
    with repository.reading(ids[1]):
        done = run(cli, rig, "--json", "prune")
        assert done.exit_code == 0, done.stderr
        assert done.json["deleted"] == [ids[0]] and done.json["in_use"] == [ids[1]], (ids, done.json)
        assert ids[1] in done.json["kept"] and "in use" in done.json["reasons"][ids[1]]
        with repository.reading(ids[1]):  # readers never wait for each other
            assert (rig.repo / "snapshots" / ids[1] / "data" / "home" / "docs" / "a.txt").exists()
    assert stat.S_IMODE((rig.repo / "readers").stat().st_mode) == 0o700
    assert stat.S_IMODE((rig.repo / "readers" / ids[1]).stat().st_mode) == 0o600
    again = run(cli, rig, "--json", "prune")
    assert again.json["deleted"] == [ids[1]] and again.json["in_use"] == []
    assert [p.name for p in rig.snapshot_dirs()] == [ids[2]]
    assert not (rig.repo / "readers" / ids[1]).exists()  # prune takes the reader file with it
    with pytest.raises(UsageError, match="deleted \\(pruned\\)"):
        with repository.reading(ids[1]):
            pass


def test_retries_transport_failures_then_exits_75_untouched(cli, remote_rig):
    """Only a repository over ssh has a transport to fail."""
    rig = remote_rig
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    before = run(cli, rig, "--json", "snapshots").json
    (rig.source / "docs" / "new.txt").write_bytes(b"new")
    # rsync reaches the repository through a shell that fails like a dropped connection
    broken = rig.base / "broken-ssh"
    broken.write_text("#!/bin/sh\necho 'connection reset' >&2\nexit 255\n")
    broken.chmod(0o755)
    rig.write_config(retries=2, retry_delay=0.01, extra_args=["-e", str(broken)])
    result = run(cli, rig, "backup", "--incremental")
    assert result.exit_code == 75, result.stderr
    assert result.stderr.count("retrying in") == 2
    assert "unreachable" in result.stderr
    assert run(cli, rig, "--json", "snapshots").json == before
    assert os.readlink(rig.repo / "latest") == f"snapshots/{first['snapshot']}"


# ---------------------------------------------------------------- crashes and concurrency
def big_tree(rig, count=24, size=200_000):
    folder = rig.source / "big"
    folder.mkdir(exist_ok=True)
    for index in range(count):
        (folder / f"chunk{index:03d}").write_bytes(os.urandom(size))
    return count * size


def start_slow_backup(rig, *args):
    rig.write_config(extra_args=["--bwlimit=1500"])
    return subprocess.Popen([sys.executable, "-m", "travelsync", "--config", str(rig.config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def bytes_under(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def wait_for(condition, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rsync_pids(marker: str) -> list[int]:
    """Processes (any parent) whose command line names `marker` (the repository path)."""
    return pids_where(lambda cmdline: b"rsync" in cmdline.split(b"\0")[0] and marker.encode() in cmdline)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@pytest.mark.parametrize("victim", ["travelsync", "rsync"])
def test_sigkill_keeps_latest_and_next_run_resumes(cli, rig, victim):
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    before = run(cli, rig, "--json", "snapshots").json
    total = big_tree(rig)
    process = start_slow_backup(rig, "backup", "--incremental")
    try:
        wait_for(lambda: (rig.repo / "partial").exists() and bytes_under(rig.repo / "partial") > total // 4,
                 what="the slowed backup to write part of its snapshot")
        if victim == "travelsync":
            process.kill()
        else:
            rsync_child = [p for p in children(process.pid) if b"rsync" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert rsync_child, "no rsync child found"
            os.kill(rsync_child[0], signal.SIGKILL)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    if victim == "rsync":
        assert process.returncode == 1 and b"killed by signal 9" in err
    wait_for(lambda: not rsync_pids(str(rig.repo)), what="rsync to stop")
    assert run(cli, rig, "--json", "snapshots").json == before
    assert os.readlink(rig.repo / "latest") == f"snapshots/{first['snapshot']}"
    assert [p.name for p in (rig.repo / "partial").iterdir()]  # the partial is kept

    rig.write_config()  # full speed again
    result = run(cli, rig, "--json", "backup", "--incremental")
    assert result.exit_code == 0, result.stderr
    report = result.json
    assert report["resumed"] is True and "resuming" in result.stderr
    if victim == "travelsync":
        assert "took over the lock" in result.stderr
    assert 0 < report["bytes_transferred"] < total * 0.8  # fewer bytes than from scratch
    assert describe(rig.data(report["snapshot"]), False) == expected(rig, False)
    assert not list((rig.repo / "partial").iterdir())
    assert run(cli, rig, "verify").exit_code == 0


def test_second_backup_exits_75_and_sigterm_keeps_partial(cli, rig):
    make_tree(rig.source, False)
    big_tree(rig, count=12)
    process = start_slow_backup(rig, "backup", "--full")
    try:
        wait_for(lambda: b"pid=" in ((rig.repo / "lock").read_bytes() if (rig.repo / "lock").exists() else b""),
                 what="the first backup to take the lock")
        wait_for(lambda: (rig.repo / "partial").exists() and any((rig.repo / "partial").iterdir()),
                 what="the first backup to start its partial snapshot")
        second = run(cli, rig, "backup")
        assert second.exit_code == 75
        assert "is locked by pid" in second.stderr and "travelsync backup" in second.stderr
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 75 and b"stopped on request" in err
    assert not rig.snapshot_dirs() or not any((d / "snapshot.json").exists() for d in rig.snapshot_dirs())
    assert list((rig.repo / "partial").iterdir())
    rig.write_config()
    assert backup(cli, rig, "--full")["resumed"] is True


@pytest.fixture
def small_filesystem(tmp_path):
    need_root()
    need_programs("mount", "umount")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    need(done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_full_repository_fails_cleanly_and_older_snapshots_verify(cli, rig, small_filesystem):
    rig.repo = small_filesystem / "repo"
    rig.write_config()
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    (rig.source / "huge").write_bytes(os.urandom(3_000_000))
    result = run(cli, rig, "backup", "--incremental")
    assert result.exit_code == 1, result.stderr
    assert f"no space left on {rig.sshd.location(str(rig.repo)) if rig.sshd else rig.repo}" in result.stderr
    assert [p.name for p in rig.snapshot_dirs()] == [first["snapshot"]]
    assert os.readlink(rig.repo / "latest") == f"snapshots/{first['snapshot']}"
    assert run(cli, rig, "verify", first["snapshot"]).exit_code == 0


# ---------------------------------------------------------------- terminal output (local only)
def on_a_terminal(rig, *args):
    """Run travelsync with stderr on a pseudo-terminal: (process, what the terminal got, stdout)."""
    import pty

    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "travelsync", "--config", str(rig.config), *args],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    out, _ = process.communicate(timeout=60)
    os.close(primary)
    return process, b"".join(chunks).decode("utf-8", "replace"), out


def test_progress_bar_on_a_terminal_and_summary(local_rig):
    make_tree(local_rig.source, False)
    big_tree(local_rig, count=4)
    local_rig.write_config(extra_args=["--bwlimit=2000"])  # about half a second: several redraws
    process, screen, out = on_a_terminal(local_rig, "backup")
    assert process.returncode == 0
    assert screen.count("backup [") >= 2 and "#" in screen and "ETA" in screen
    assert "files transferred" in out.decode() and "(full, complete)" in out.decode()


def test_verify_shows_progress_on_a_terminal(cli, local_rig):
    make_tree(local_rig.source, False)
    big_tree(local_rig, count=4)
    backup(cli, local_rig, "--full")
    process, screen, out = on_a_terminal(local_rig, "verify")
    assert process.returncode == 0, screen
    assert "verify [" in screen and "100%" in screen and "ETA" in screen, screen
    assert "all match the manifest" in out.decode()


def test_dry_run_writes_nothing(cli, rig):
    make_tree(rig.source, False)
    result = run(cli, rig, "--json", "backup", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.json["dry_run"] is True and result.json["files_transferred"] >= 10
    assert not rig.repo.exists()
    first = backup(cli, rig, "--full")
    (rig.source / "docs" / "a.txt").write_bytes(b"changed")
    again = run(cli, rig, "--json", "backup", "--incremental", "--dry-run")
    assert again.exit_code == 0, again.stderr
    assert again.json["kind"] == "incremental" and again.json["files_transferred"] == 1  # only the change
    assert [p.name for p in rig.snapshot_dirs()] == [first["snapshot"]]
    assert not list((rig.repo / "partial").iterdir())


def test_refuses_a_newer_repository_format(cli, local_rig):
    local_rig.repo.mkdir()
    (local_rig.repo / "travelsync.repo").write_text("format: 2\n")
    result = run(cli, local_rig, "backup")
    assert result.exit_code == 1
    assert "repository format 2 is newer" in result.stderr


def test_if_due_backs_up_once_then_stays_quiet(cli, local_rig):
    make_tree(local_rig.source, False)
    local_rig.config.write_text(local_rig.config.read_text() + "schedule: {full: 'sun 02:30', timezone: UTC}\n")
    env = {"TRAVELSYNC_NOW": "2026-11-22T02:40:00+00:00"}  # a Sunday, ten minutes after the full is due
    first = cli("--config", local_rig.config, "--json", "backup", "--if-due", env=env)
    assert first.exit_code == 0, first.stderr
    assert first.json["kind"] == "full" and first.json["snapshot"] == "20261122T024000Z-full"
    again = cli("--config", local_rig.config, "--quiet", "backup", "--if-due", env=env)
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    assert len(local_rig.snapshot_dirs()) == 1
    said = cli("--config", local_rig.config, "backup", "--if-due", env=env)  # a person is told why nothing ran
    assert said.exit_code == 0 and said.stdout.strip() == "nothing due until 2026-11-23T02:30:00+00:00"
    scripted = cli("--config", local_rig.config, "backup", "--if-due", "--json", env=env)
    assert scripted.json["snapshot"] is None and scripted.json["next_due"] == "2026-11-23T02:30:00+00:00"


def test_file_vanishing_during_backup_commits_with_warning_exit_3(rig):
    make_tree(rig.source, False)
    big_tree(rig, count=12)
    victim = rig.source / "big" / "chunk011"  # sent last: its name is in rsync's list already
    process = start_slow_backup(rig, "--json", "backup", "--full")
    try:
        wait_for(lambda: (rig.repo / "partial").exists() and bytes_under(rig.repo / "partial") > 200_000,
                 what="the slowed backup to start sending")
        victim.unlink()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, err.decode()
    report = json.loads(out)
    assert report["status"] == "complete" and any("vanished" in w and "chunk011" in w for w in report["warnings"])
    assert b"warning:" in err and b"chunk011" in err
    assert os.readlink(rig.repo / "latest") == f"snapshots/{report['snapshot']}"


def test_unknown_host_key_is_refused_with_exit_75(cli, remote_rig):
    make_tree(remote_rig.source, False)
    empty = remote_rig.base / "empty_known_hosts"
    empty.write_text("")
    document = yaml.safe_load(remote_rig.config.read_text())
    document["ssh"]["options"] = ["-o", f"UserKnownHostsFile={empty}", "-o", "GlobalKnownHostsFile=/dev/null"]
    remote_rig.config.write_text(yaml.safe_dump(document))
    result = run(cli, remote_rig, "backup")
    assert result.exit_code == 75
    assert "Host key verification failed" in result.stderr
    assert not remote_rig.repo.exists()


# ---------------------------------------------------------------- the remote lock and the shared connection
def ssh_pids(marker: bytes, *needles: bytes) -> list[int]:
    """Local ssh processes whose command line holds `marker` and every needle."""
    return pids_where(lambda cmdline: cmdline.startswith(b"ssh\0") and marker in cmdline
                      and all(n in cmdline for n in needles))


def test_a_lost_remote_lock_stops_before_the_commit_with_75(cli, remote_rig):
    """The lock's ssh session dies mid-transfer: the flock is gone, so the run must not commit."""
    rig = remote_rig
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    before = run(cli, rig, "--json", "snapshots").json
    total = big_tree(rig, count=12)
    process = start_slow_backup(rig, "backup", "--incremental")
    try:
        wait_for(lambda: (rig.repo / "partial").exists() and bytes_under(rig.repo / "partial") > total // 6,
                 what="the slowed backup to write part of its snapshot")
        lock_sessions = ssh_pids(str(rig.repo / "lock").encode(), b"flock")
        assert len(lock_sessions) == 1, lock_sessions
        assert b"ControlPath=none" in Path(f"/proc/{lock_sessions[0]}/cmdline").read_bytes()
        os.kill(lock_sessions[0], signal.SIGKILL)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 75, err.decode()
    assert b"the repository lock was lost" in err and b"stopped before committing" in err
    assert run(cli, rig, "--json", "snapshots").json == before
    assert os.readlink(rig.repo / "latest") == f"snapshots/{first['snapshot']}"
    assert list((rig.repo / "partial").iterdir())  # kept for the next run
    rig.write_config()
    again = backup(cli, rig, "--incremental")
    assert again["resumed"] is True
    assert describe(rig.data(again["snapshot"]), False) == expected(rig, False)


def test_a_long_runtime_folder_still_shares_one_connection(cli, remote_rig, tmp_path):
    """ssh refuses a ControlPath of 108 bytes or more: a long $XDG_RUNTIME_DIR must not break
    the backup, and the connection is still shared (from a short private folder)."""
    rig = remote_rig
    make_tree(rig.source, False)
    runtime = tmp_path / ("runtime-" + "x" * 80)
    runtime.mkdir(mode=0o700)
    marker = str(rig.sshd.known_hosts).encode()
    try:
        result = cli("--config", rig.config, "--json", "backup", "--full", env={"XDG_RUNTIME_DIR": str(runtime)})
        assert result.exit_code == 0, result.stderr
        masters = ssh_pids(marker, b"ControlMaster=yes")
        assert masters, "no shared connection was started"
        cmdline = Path(f"/proc/{masters[0]}/cmdline").read_bytes().split(b"\0")
        path = next(a for a in cmdline if a.startswith(b"ControlPath="))[len("ControlPath="):]
        assert path.startswith(f"/tmp/travelsync-{os.getuid()}/ts-".encode()) and path.endswith(b"-%C")
        assert describe(rig.data(result.json["snapshot"]), False) == expected(rig, False)
    finally:
        for pid in ssh_pids(marker, b"ControlMaster=yes"):
            os.kill(pid, signal.SIGTERM)


def test_a_damaged_snapshot_json_over_ssh_is_named_and_never_linked_to(cli, rig):
    """NUL bytes (a file zeroed by a power cut) must not confuse the one-round-trip listing."""
    make_tree(rig.source, False)
    first = backup(cli, rig, "--full")
    (rig.source / "docs" / "a.txt").write_bytes(b"changed once")
    second = backup(cli, rig, "--incremental")
    (rig.repo / "snapshots" / second["snapshot"] / "snapshot.json").write_bytes(b"\0" * 600)
    listing = run(cli, rig, "--json", "snapshots")
    assert listing.exit_code == 3
    assert [s["id"] for s in listing.json] == [first["snapshot"]]
    assert f"snapshot {second['snapshot']}" in listing.stderr and "not valid JSON" in listing.stderr
    verify = run(cli, rig, "verify")
    assert verify.exit_code == 1 and second["snapshot"] in verify.stderr and "snapshot.json" in verify.stderr
    (rig.source / "docs" / "a.txt").write_bytes(b"changed twice")
    third = run(cli, rig, "--json", "backup", "--incremental")
    assert third.exit_code == 3, third.stderr
    made = json.loads((rig.repo / "snapshots" / third.json["snapshot"] / "snapshot.json").read_text())
    assert made["parent"] == first["snapshot"]
    assert f"links to {first['snapshot']} instead" in third.stderr
    assert describe(rig.data(third.json["snapshot"]), False) == expected(rig, False)


@pytest.mark.parametrize("args", [("backup",), ("backup", "--dry-run")])
def test_another_format_over_ssh_is_refused_before_the_lock(cli, remote_rig, args):
    rig = remote_rig
    make_tree(rig.source, False)
    rig.repo.mkdir()
    (rig.repo / "travelsync.repo").write_text("format: 2\n")
    (rig.repo / "lock").write_bytes(b"pid=1 host=newer command=backup started=later\n")
    result = run(cli, rig, *args)
    assert result.exit_code == 1 and "repository format 2 is newer" in result.stderr
    assert (rig.repo / "lock").read_bytes() == b"pid=1 host=newer command=backup started=later\n"
    assert sorted(p.name for p in rig.repo.iterdir()) == ["lock", "travelsync.repo"]


def unprivileged_argv() -> list[str]:
    """Prefix that keeps root from reading a mode-000 file (no CAP_DAC_OVERRIDE / _READ_SEARCH,
    for this process and whatever it runs, ssh and the remote side excepted); nothing otherwise."""
    if os.geteuid() != 0:
        return []
    need_programs("setpriv")
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={dropped}", f"--bounding-set={dropped}"]


def test_an_unreadable_file_commits_an_incomplete_snapshot_naming_it_exit_3(local_rig):
    """rsync exit 23 with the real rsync: the snapshot is committed as `incomplete`, the file
    is named in the report, on stderr and in snapshot.json, and `latest` points at it."""
    make_tree(local_rig.source, False)
    locked = local_rig.source / "docs" / "locked.txt"
    locked.write_bytes(b"not for rsync")
    locked.chmod(0)
    env = {**os.environ, "TRAVELSYNC_CONFIG": str(local_rig.config), "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run([*unprivileged_argv(), sys.executable, "-m", "travelsync", "--json", "backup", "--full"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "incomplete"
    assert any("could not be backed up" in w and "locked.txt" in w for w in report["warnings"]), report
    assert "locked.txt" in done.stderr
    document = json.loads((local_rig.repo / "snapshots" / report["snapshot"] / "snapshot.json").read_text())
    assert document["status"] == "incomplete" and any("locked.txt" in f for f in document["failed_files"])
    assert os.readlink(local_rig.repo / "latest") == f"snapshots/{report['snapshot']}"
    data = local_rig.data(report["snapshot"])
    assert (data / "docs" / "a.txt").read_bytes() == b"alpha\n" * 100  # the rest is there
    assert not (data / "docs" / "locked.txt").exists()


def test_a_clock_behind_the_newest_snapshot_is_refused_and_writes_nothing(cli, local_rig):
    rig = local_rig
    make_tree(rig.source, False)
    true_clock = {"TRAVELSYNC_NOW": "2026-11-24T02:30:00+00:00"}
    first = cli("--config", rig.config, "--json", "backup", "--full", env=true_clock)
    assert first.exit_code == 0, first.stderr
    before = sorted(p.name for p in rig.snapshot_dirs())
    (rig.source / "docs" / "new.txt").write_bytes(b"new")
    behind = {"TRAVELSYNC_NOW": "2026-11-20T02:30:00+00:00"}  # a dead CMOS battery
    refused = cli("--config", rig.config, "backup", "--incremental", env=behind)
    assert refused.exit_code == 1, refused.stderr
    assert "2026-11-20T02:30:00+00:00" in refused.stderr and first.json["snapshot"] in refused.stderr
    assert "2026-11-24T02:30:00+00:00" in refused.stderr and "--allow-clock-behind" in refused.stderr
    assert sorted(p.name for p in rig.snapshot_dirs()) == before
    assert os.readlink(rig.repo / "latest") == f"snapshots/{first.json['snapshot']}"
    assert not list((rig.repo / "partial").iterdir())
    forced = cli("--config", rig.config, "--json", "backup", "--incremental", "--allow-clock-behind", env=behind)
    assert forced.exit_code == 0, forced.stderr
    assert len(rig.snapshot_dirs()) == 2


def test_an_unreadable_folder_and_file_are_named_with_their_reason(local_rig):
    """A mode-000 folder gave `failed_files: []` (rsync's `opendir … failed` was not parsed)."""
    make_tree(local_rig.source, False)
    closed = local_rig.source / "closed"
    closed.mkdir()
    (closed / "inside.txt").write_bytes(b"x")
    closed.chmod(0)
    secret = local_rig.source / "secret.txt"
    secret.write_bytes(b"y")
    secret.chmod(0)
    env = {**os.environ, "TRAVELSYNC_CONFIG": str(local_rig.config), "PYTHONPATH": str(Path(__file__).parents[2])}
    try:
        done = subprocess.run([*unprivileged_argv(), sys.executable, "-m", "travelsync", "--json", "backup", "--full"],
                              capture_output=True, text=True, env=env, timeout=120)
    finally:
        closed.chmod(0o700)
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    failed = report["failed_files"]
    assert any(f.startswith("home: ") and "closed" in f and "(Permission denied)" in f for f in failed), failed
    assert any("secret.txt (Permission denied)" in f for f in failed), failed
    document = json.loads((local_rig.repo / "snapshots" / report["snapshot"] / "snapshot.json").read_text())
    assert any("closed (Permission denied)" in f for f in document["failed_files"])


@pytest.mark.parametrize("step", ["syncfs", "rename", "swap"])
def test_a_failure_inside_the_commit_names_the_true_state(cli, local_rig, monkeypatch, step):
    """EIO at each commit step: the message says what is committed, `snapshots` agrees, no
    temporary file is left. (Faults injected at the system-call seam of one step each.)"""
    import errno as errno_module

    from travelsync.repository import local_store

    make_tree(local_rig.source, False)
    first = backup(cli, local_rig, "--full")
    (local_rig.source / "docs" / "new.txt").write_bytes(b"new")

    def fail(*args, **kwargs):
        raise OSError(errno_module.EIO, "Input/output error")

    if step == "syncfs":
        monkeypatch.setattr(local_store, "sync_file_system", fail)
    elif step == "rename":
        real_rename = os.rename
        monkeypatch.setattr(local_store.os, "rename",
                            lambda a, b: fail() if "partial" in str(a) else real_rename(a, b))
    else:
        real_replace = os.replace
        monkeypatch.setattr(local_store.os, "replace",
                            lambda a, b: fail() if str(b).endswith("latest") else real_replace(a, b))
    result = run(cli, local_rig, "--json", "backup", "--incremental")
    monkeypatch.undo()
    document = json.loads(result.stdout)  # scripts get the failure as a JSON document
    assert document["exit_status"] == 1 and "Input/output error" in document["error"]
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr and "Input/output error" in result.stderr
    listed = [s["id"] for s in run(cli, local_rig, "--json", "snapshots").json]
    if step == "swap":
        assert "is committed" in result.stderr and f"still points at {first['snapshot']}" in result.stderr
        assert len(listed) == 2
    else:
        assert "nothing committed" in result.stderr and "kept for the next run" in result.stderr
        assert listed == [first["snapshot"]]
    assert not [p for p in local_rig.repo.iterdir() if p.name.endswith(".tmp")]
    assert os.readlink(local_rig.repo / "latest") == f"snapshots/{first['snapshot']}"


def test_no_space_inside_the_commit_keeps_the_no_space_message(cli, local_rig, monkeypatch):
    import errno as errno_module

    from travelsync.repository import local_store

    make_tree(local_rig.source, False)

    def full(*args, **kwargs):
        raise OSError(errno_module.ENOSPC, "No space left on device")

    monkeypatch.setattr(local_store, "sync_file_system", full)
    result = run(cli, local_rig, "backup", "--full")
    monkeypatch.undo()
    assert result.exit_code == 1, result.stderr
    assert f"no space left on {local_rig.repo}" in result.stderr and "partial snapshot is kept" in result.stderr
    assert not local_rig.snapshot_dirs()


def test_durations_are_real_under_a_replayed_clock(cli, local_rig):
    """Under TRAVELSYNC_NOW every duration was 0 s (finished - started of one fixed instant)."""
    make_tree(local_rig.source, False)
    big_tree(local_rig, count=4)
    local_rig.write_config(extra_args=["--bwlimit=2000"])  # about half a second
    done = cli("--config", local_rig.config, "--json", "backup", "--full",
               env={"TRAVELSYNC_NOW": "2026-11-22T02:30:00+00:00"})
    assert done.exit_code == 0, done.stderr
    assert done.json["seconds"] > 0.2
    document = json.loads((local_rig.repo / "snapshots" / done.json["snapshot"] / "snapshot.json").read_text())
    assert document["started"] == "2026-11-22T02:30:00+00:00"
    took = (datetime.fromisoformat(document["finished"]) - datetime.fromisoformat(document["started"]))
    assert abs(took.total_seconds() - done.json["seconds"]) < 0.05
    listing = cli("--config", local_rig.config, "--json", "snapshots", env={"TRAVELSYNC_NOW": "2026-11-22T03:00:00+00:00"})
    listed = listing.json[0]
    assert datetime.fromisoformat(listed["finished"]) > datetime.fromisoformat(listed["started"])
