"""A sparse VM disk image stays sparse in its snapshot and on the laptop."""

import os

import yaml

from tests.conftest import need_programs

GIB = 1 << 30


def _allocated(path) -> int:
    return os.stat(path).st_blocks * 512


def test_a_4_gib_sparse_image_stays_sparse_in_the_snapshot_and_the_restore(tmp_path, cli):
    need_programs("rsync")
    home = tmp_path / "home"
    (home / "vm").mkdir(parents=True)
    image = home / "vm" / "disk.img"
    with open(image, "wb") as handle:
        handle.seek(GIB)
        handle.write(b"boot sector" * 100)  # some data in the middle, the rest holes
        handle.truncate(4 * GIB)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"repository": str(tmp_path / "repo"),
                                      "sources": [{"name": "home", "path": str(home)}],
                                      "laptop": {"root": str(tmp_path / "laptop"), "paths": ["home/vm"]}}))
    done = cli("--config", config, "--json", "backup", "--full")
    assert done.exit_code == 0, done.stderr
    copy = tmp_path / "repo" / "snapshots" / done.json["snapshot"] / "data" / "home" / "vm" / "disk.img"
    assert copy.stat().st_size == 4 * GIB
    assert _allocated(copy) < 10 << 20, f"snapshot copy takes {_allocated(copy)} bytes"
    target = tmp_path / "restored"
    restored = cli("--config", config, "restore", "--path", "home/vm", "--root", target)
    assert restored.exit_code == 0, restored.stderr
    laptop_copy = next(target.rglob("disk.img"))
    assert laptop_copy.stat().st_size == 4 * GIB
    assert _allocated(laptop_copy) < 10 << 20, f"laptop copy takes {_allocated(laptop_copy)} bytes"
    with open(laptop_copy, "rb") as handle:
        handle.seek(GIB)
        assert handle.read(11) == b"boot sector"
