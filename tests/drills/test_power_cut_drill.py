"""Power cut right after a backup: the repository lives on a loop-mounted ext4 image, and the
image is copied the moment `backup` exits 0, before the kernel writes its page cache back
(what a power cut leaves on the disk). Every copy, mounted, must verify: `latest` and every
listed snapshot complete, the next backup fine.

Rounds: TRAVELSYNC_DRILL_ROUNDS (tests/drills/conftest.py)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import need_programs, need_root
from tests.drills.conftest import ROUNDS, Drill, day_at


def _sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture
def ext4_repository(tmp_path):
    need_root()
    need_programs("rsync", "mkfs.ext4", "losetup", "mount", "umount")
    image = tmp_path / "disk.img"
    with open(image, "wb") as handle:
        handle.truncate(256 << 20)
    _sh("mkfs.ext4", "-q", "-F", str(image))
    mount = tmp_path / "mnt"
    mount.mkdir()
    _sh("mount", "-o", "loop", str(image), str(mount))
    try:
        yield image, mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def _travelsync(config, *args, now):
    env = {**os.environ, "TRAVELSYNC_NOW": now}
    return subprocess.run([sys.executable, "-m", "travelsync", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_a_copy_of_the_disk_taken_right_after_backup_verifies(tmp_path, ext4_repository):
    image, mount = ext4_repository
    drill = Drill("power-cut-after-backup")
    home = tmp_path / "home"
    (home / "Mail").mkdir(parents=True)
    config = tmp_path / "config.yaml"

    def write_config(repository):
        config.write_text(yaml.safe_dump({"repository": str(repository),
                                          "sources": [{"name": "home", "path": str(home)}]}))

    copy_mount = tmp_path / "copy-mnt"
    copy_mount.mkdir()
    for round_ in range(ROUNDS):
        write_config(mount / "repo")
        for n in range(50):
            (home / "Mail" / f"r{round_}-{n}.eml").write_bytes(os.urandom(4096 + n))
        done = _travelsync(config, "--json", "backup", "--full" if round_ == 0 else "--incremental",
                           now=day_at(round_))
        copy = tmp_path / "copy.img"
        shutil.copyfile(image, copy)  # at once: what the disk holds when the power goes
        drill.check(done.returncode == 0, f"round {round_}: backup exit {done.returncode}: {done.stderr}")
        _sh("mount", "-o", "loop", str(copy), str(copy_mount))  # journal replayed
        try:
            write_config(copy_mount / "repo")
            listed = json.loads(_travelsync(config, "--json", "snapshots", now=day_at(round_)).stdout)
            drill.check(listed and listed[-1]["id"] == json.loads(done.stdout)["snapshot"],
                        f"round {round_}: the copy lists the new snapshot")
            for snapshot in listed:
                checked = _travelsync(config, "verify", snapshot["id"], now=day_at(round_))
                drill.check(checked.returncode == 0,
                            f"round {round_}: verify {snapshot['id']} on the copy: {checked.stderr.strip()}")
            drill.check(_travelsync(config, "backup", "--incremental", now=day_at(round_, 3)).returncode == 0,
                        f"round {round_}: the next backup on the copy succeeds")
        finally:
            subprocess.run(["umount", str(copy_mount)], capture_output=True)
            copy.unlink()
