"""Power cut: the repository lives on a loop-mounted ext4 image, and the image is copied (a)
the moment `backup` exits 0 and (b) at random moments while `backup` runs. The copy is what
the disk holds at that instant, not what the kernel still has in its page cache: the image
file sits on an XFS file system and is copied with `cp --reflink=always` (FICLONE), which
shares the file's blocks as they are at that instant, under the file's lock, so the loop
device's writes are either all before it or after it (a point-in-time copy, taken in a few
ms, that neither syncs nor freezes the ext4 above). Every copy, mounted (its journal
replayed, as after a reboot), must hold: `latest` and every listed snapshot verify, and the
next backup succeeds. docs/drills.md says what this models and what it does not.

Rounds: TRAVELSYNC_DRILL_ROUNDS (tests/drills/conftest.py)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import need_programs, need_root
from tests.drills.conftest import ROUNDS, Drill, day_at, start

pytestmark = pytest.mark.timeout(180 + 60 * ROUNDS)


def _sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True)


class Disk:
    """An ext4 image, loop-mounted at `mount`, whose file lives on an XFS file system made for
    the drill (reflinks), so that `cut(copy)` takes a point-in-time copy of what the disk holds."""

    def __init__(self, base: Path):
        self.host, self.mount, self.copy_mount = base / "xfs", base / "mnt", base / "copy-mnt"
        for folder in (self.host, self.mount, self.copy_mount):
            folder.mkdir()
        outer = base / "xfs.img"
        with open(outer, "wb") as handle:
            handle.truncate(2 << 30)  # sparse
        _sh("mkfs.xfs", "-q", "-m", "reflink=1", str(outer))
        _sh("mount", "-o", "loop", str(outer), str(self.host))
        self.image = self.host / "disk.img"
        with open(self.image, "wb") as handle:
            handle.truncate(512 << 20)
        _sh("mkfs.ext4", "-q", "-F", str(self.image))
        _sh("mount", "-o", "loop", str(self.image), str(self.mount))
        self.copy = self.host / "copy.img"

    def cut(self) -> float:
        """Copy the image as the disk holds it now (no sync); returns the seconds it took."""
        started = time.monotonic()
        _sh("cp", "--reflink=always", str(self.image), str(self.copy))
        return time.monotonic() - started

    def mount_copy(self) -> None:
        _sh("mount", "-o", "loop", str(self.copy), str(self.copy_mount))  # the journal is replayed

    def drop_copy(self) -> None:
        subprocess.run(["umount", str(self.copy_mount)], capture_output=True)
        self.copy.unlink(missing_ok=True)

    def close(self) -> None:
        self.drop_copy()
        for folder in (self.mount, self.host):
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def disk(tmp_path):
    need_root()
    need_programs("rsync", "mkfs.ext4", "mkfs.xfs", "losetup", "mount", "umount", "cp")
    made = Disk(tmp_path)
    try:
        yield made
    finally:
        made.close()


def _travelsync(config, *args, now):
    env = {**os.environ, "TRAVELSYNC_NOW": now}
    return subprocess.run([sys.executable, "-m", "travelsync", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _write_config(config: Path, repository: Path, home: Path, extra_args=()) -> None:
    config.write_text(yaml.safe_dump({"repository": str(repository),
                                      "sources": [{"name": "home", "path": str(home)}],
                                      "rsync": {"retries": 0, "extra_args": list(extra_args)}}))


def _check_copy(drill, disk, config, home, label, now, extra_args=()) -> list:
    """Mount the copy: `latest` and every listed snapshot verify, the next backup succeeds.
    Returns the listed ids."""
    disk.mount_copy()
    try:
        _write_config(config, disk.copy_mount / "repo", home, extra_args)
        listing = _travelsync(config, "--json", "snapshots", now=now)
        drill.check(listing.returncode == 0, f"{label}: the copy's repository lists cleanly", listing.stderr.strip())
        listed = json.loads(listing.stdout)
        for snapshot in listed:
            checked = _travelsync(config, "verify", snapshot["id"], now=now)
            drill.check(checked.returncode == 0, f"{label}: verify {snapshot['id']} on the copy",
                        checked.stderr.strip())
        if listed:
            latest = _travelsync(config, "verify", "latest", now=now)
            drill.check(latest.returncode == 0, f"{label}: verify latest on the copy "
                        f"(-> {os.readlink(disk.copy_mount / 'repo' / 'latest')})", latest.stderr.strip())
        following = _travelsync(config, "backup", now=now)
        drill.check(following.returncode == 0, f"{label}: the next backup on the copy succeeds",
                    following.stderr.strip())
        return [s["id"] for s in listed]
    finally:
        disk.drop_copy()


def test_a_copy_of_the_disk_taken_right_after_backup_verifies(tmp_path, disk):
    drill = Drill("power-cut-after-backup")
    home = tmp_path / "home"
    (home / "Mail").mkdir(parents=True)
    config = tmp_path / "config.yaml"
    for round_ in range(ROUNDS):
        _write_config(config, disk.mount / "repo", home)
        for n in range(50):
            (home / "Mail" / f"r{round_}-{n}.eml").write_bytes(os.urandom(4096 + n))
        done = _travelsync(config, "--json", "backup", "--full" if round_ == 0 else "--incremental",
                           now=day_at(round_))
        took = disk.cut()  # at once: what the disk holds when the power goes
        drill.check(done.returncode == 0, f"round {round_}: backup exit {done.returncode}", done.stderr)
        drill.tried(f"round {round_}: the disk copied (in {took * 1000:.0f} ms) the moment `backup` exited 0")
        listed = _check_copy(drill, disk, config, home, f"round {round_}", day_at(round_, 3))
        drill.check(listed and listed[-1] == json.loads(done.stdout)["snapshot"],
                    f"round {round_}: the copy lists the new snapshot", listed)


# What the drill cuts the power at, in turn: a moment drawn over the whole run, one within
# rsync's transfer, one right around the commit (the manifest written, syncfs, snapshot.json,
# the rename, the `latest` swap).
ANCHORS = ("run", "rsync", "commit")


def _wait_for(running, found, give_up=30.0, poll=0.002) -> bool:
    """Poll (reads only: no sync) until found() or the run ended; True when found."""
    deadline = time.monotonic() + give_up
    while running.process.poll() is None and time.monotonic() < deadline:
        if found():
            return True
        time.sleep(poll)
    return False


def _rsync_started(running):
    return any(name == "rsync" and b"\0--dry-run\0" not in cmd for _pid, name, cmd in running.session_members())


def test_a_copy_of_the_disk_taken_during_backup_verifies(tmp_path, disk):
    """The power goes at a seeded moment while `backup` runs: during rsync's transfer, while
    the manifest is written, inside the commit. The copy must hold the previous snapshots
    intact and verifiable, `latest` naming one of them (or the new one, committed whole)."""
    drill = Drill("power-cut-during-backup")
    home = tmp_path / "home"
    (home / "Mail").mkdir(parents=True)
    (home / "big").mkdir()
    config, copy_config = tmp_path / "config.yaml", tmp_path / "copy-config.yaml"
    slowed = ["--bwlimit=6000"]  # about 1 s of transfer a round, so moments land inside it
    _write_config(config, disk.mount / "repo", home, slowed)
    repo = disk.mount / "repo"
    committed, landed, duration = [], {anchor: 0 for anchor in ANCHORS}, 2.0
    for round_ in range(ROUNDS + 1):
        for n in range(40):
            (home / "Mail" / f"r{round_}-{n}.eml").write_bytes(os.urandom(2048 + 37 * n))
        (home / "big" / f"r{round_}.bin").write_bytes(os.urandom(6 << 20))
        kind = "--full" if round_ == 0 or drill.random.random() < 0.3 else "--incremental"
        if round_ == 0:  # the first snapshot, for the rounds to lose
            started = time.monotonic()
            first = _travelsync(config, "--json", "backup", "--full", now=day_at(0))
            drill.check(first.returncode == 0, "the first full backup", first.stderr)
            committed.append(json.loads(first.stdout)["snapshot"])
            duration = time.monotonic() - started
            continue
        anchor = ANCHORS[(round_ - 1) % len(ANCHORS)]
        running = start(tmp_path / "runs" / str(round_), "--config", config, "--json", "backup", kind,
                        env={"TRAVELSYNC_NOW": day_at(round_)})
        if anchor == "run":
            delay = drill.random.uniform(0.05, duration)
            found = True
        elif anchor == "rsync":
            delay = drill.random.uniform(0.0, 1.2)
            found = _wait_for(running, lambda: _rsync_started(running))
        else:
            delay = drill.random.choice([0.0, 0.0, drill.random.uniform(0.0, 0.15)])
            found = _wait_for(running, lambda: any((repo / "partial").glob("*/manifest.tsv.zst"))
                              or os.readlink(repo / "latest") != f"snapshots/{committed[-1]}", give_up=60)
        time.sleep(delay)
        still_running = running.process.poll() is None
        took = disk.cut()
        code = running.wait(120)
        drill.tried(f"round {round_}: `backup {kind}` (rsync {slowed[0]}), the power cut "
                    f"{delay:.3f}s after {'the start' if anchor == 'run' else anchor + (' began' if found else ' (not seen)')}"
                    f", {'while it ran' if still_running else 'after it ended'} (copy took {took * 1000:.0f} ms)")
        drill.check(code == 0, f"round {round_}: the real backup still exits 0", running.stderr[-600:])
        made = json.loads(running.stdout)["snapshot"]
        if still_running:
            landed[anchor] += 1
        listed = _check_copy(drill, disk, copy_config, home, f"round {round_}", day_at(round_, 3), slowed)
        drill.check(set(committed) <= set(listed), f"round {round_}: every snapshot committed before is on the copy",
                    (committed, listed))
        drill.check(set(listed) <= set(committed) | {made}, f"round {round_}: the copy lists nothing else",
                    listed)
        drill.say(f"  the copy holds {'the new snapshot ' + made if made in listed else 'the snapshots before'}")
        committed.append(made)
        duration = running.finished_after or (time.monotonic() - running.started)
    drill.check(sum(landed.values()) >= max(1, ROUNDS // 2),
                f"most power cuts landed while the backup ran ({landed})")
