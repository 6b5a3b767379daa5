"""`snapshots --sizes` and the space `prune` frees, with the real rsync, local and over ssh:
equal to counting the snapshot trees' inodes by hand (each inode once, its disk blocks)."""

import os

import pytest

from tests.integration.test_backup_engine import backup, rig, run  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(180)


def inodes(folder) -> dict[int, int]:
    """inode → bytes on disk of every entry under (and including) a folder."""
    found = {}
    for base, dirs, files in os.walk(folder):
        for name in [None] + dirs + files:
            info = os.lstat(base if name is None else os.path.join(base, name))
            found[info.st_ino] = info.st_blocks * 512
    return found


def test_own_sizes_and_freed_space_equal_counting_the_inodes(cli, rig):
    (rig.source / "big").write_bytes(os.urandom(300_000))
    (rig.source / "small").write_bytes(os.urandom(20_000))
    ids = [backup(cli, rig, "--full")["snapshot"]]
    (rig.source / "new").write_bytes(os.urandom(70_000))
    ids.append(backup(cli, rig, "--incremental")["snapshot"])
    (rig.source / "small").write_bytes(os.urandom(40_000))
    ids.append(backup(cli, rig, "--incremental")["snapshot"])
    (rig.source / "last").write_bytes(os.urandom(10_000))
    ids.append(backup(cli, rig, "--full")["snapshot"])
    trees = {i: inodes(rig.repo / "snapshots" / i) for i in ids}
    listed = run(cli, rig, "--json", "snapshots", "--sizes")
    assert listed.exit_code == 0, listed.stderr
    for index, snapshot in enumerate(listed.json):
        neighbours = set().union(*(trees[ids[j]] for j in (index - 1, index + 1) if 0 <= j < len(ids)))
        assert snapshot["own_bytes"] == sum(size for ino, size in trees[ids[index]].items() if ino not in neighbours)
    assert listed.json[2]["own_bytes"] >= 40_000 and listed.json[3]["own_bytes"] >= 400_000  # rewritten; a full
    assert listed.json[1]["own_bytes"] < 70_000  # "new" is shared with the next snapshot: not its own
    rig.config.write_text(rig.config.read_text() + "retention: {full: 1}\n")
    kept = set().union(trees[ids[3]])
    expected = sum(size for i in ids[:3] for ino, size in trees[i].items() if ino not in kept)
    expected -= sum(size for ino, size in trees[ids[1]].items() if ino in trees[ids[0]])  # each inode once
    expected -= sum(size for ino, size in trees[ids[2]].items() if ino in trees[ids[0]] or ino in trees[ids[1]])
    dry = run(cli, rig, "--json", "prune", "--dry-run")
    assert dry.json["deleted"] == ids[:3] and dry.json["freed_bytes"] == expected
    human = run(cli, rig, "prune", "--dry-run")
    assert "would free:" in human.stdout
    done = run(cli, rig, "--json", "prune")
    assert done.exit_code == 0 and done.json["freed_bytes"] == expected
