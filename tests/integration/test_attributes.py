"""ACLs and extended attributes, end to end with the real rsync: a backup records whether the
snapshot holds any (snapshot.json `extended_attributes`), a restore of a snapshot that holds
some brings them to the laptop (-A/-X), and one of a snapshot known to hold none leaves the
two flags out (recorded from the argv each rsync run received)."""

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import need, need_programs
from tests.integration.test_restore import backup, build_home, laptop_equals, write_config
from tests.integration.test_symlink_walk import recording_rsync

pytestmark = pytest.mark.integration

NAME = "user.travelsync-test"


def supports_user_attributes(folder: Path) -> bool:
    probe = folder / "probe"
    probe.write_text("")
    try:
        os.setxattr(probe, NAME, b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


@pytest.fixture
def world(tmp_path):
    need_programs("rsync")
    need(supports_user_attributes(tmp_path), f"{tmp_path}: the file system takes no user.* attributes")
    home = build_home(tmp_path)
    config = write_config(tmp_path, home)
    program, log = recording_rsync(tmp_path)
    import yaml

    document = yaml.safe_load(config.read_text())
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    return tmp_path, home, config, log


def recorded(base: Path, snapshot: str) -> bool | None:
    document = json.loads((base / "repository" / "snapshots" / snapshot / "snapshot.json").read_text())
    return document["extended_attributes"]


def restore_runs(cli, config: Path, log: Path, snapshot: str) -> list[list[str]]:
    """`travelsync restore --from SNAPSHOT`; the argv of each restore rsync it ran."""
    log.write_text("")
    result = cli("--json", "restore", "--from", snapshot, env={"TRAVELSYNC_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    runs = [line.split() for line in log.read_text().splitlines()]
    return [argv for argv in runs if any(a.startswith("--backup-dir=") for a in argv)]


def test_a_snapshot_without_attributes_is_restored_without_A_and_X(world, cli):
    base, home, config, log = world
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    assert recorded(base, full) is False
    runs = restore_runs(cli, config, log, full)
    assert runs and all("-aH" in argv and "-aHAX" not in argv for argv in runs), runs
    assert laptop_equals(base, base / "laptop" / home.relative_to("/"), full)


def test_attributes_are_found_recorded_and_restored(world, cli):
    base, home, config, log = world
    tagged = home / "Mail" / "cur" / "7.mail"
    os.setxattr(tagged, NAME, b"keep me")
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    assert recorded(base, full) is True
    runs = restore_runs(cli, config, log, full)
    assert runs and all("-aHAX" in argv for argv in runs), runs
    laptop_copy = base / "laptop" / tagged.relative_to("/")
    assert os.getxattr(laptop_copy, NAME) == b"keep me"


def test_an_attribute_added_to_an_unchanged_file_marks_the_incremental(world):
    base, home, config, _ = world
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    assert recorded(base, full) is False
    os.setxattr(home / "src" / "app" / "m3.py", NAME, b"1")  # the contents stay as they were
    latest = backup(config, "incremental", "2026-11-23T02:30:00+00:00")
    assert recorded(base, latest) is True
    copy = base / "repository" / "snapshots" / latest / "data" / "home" / "src" / "app" / "m3.py"
    assert os.getxattr(copy, NAME) == b"1"


def backup_runs(log: Path) -> list[list[str]]:
    """The argv of each backup rsync run (the transfer into the snapshot, `--delete-excluded`)."""
    runs = [line.split() for line in log.read_text().splitlines()]
    return [argv for argv in runs if "--delete-excluded" in argv]


def test_a_home_without_attributes_is_copied_without_A_and_X(world):
    """-A/-X make rsync read and write every file's ACL and attribute list on both ends: a home
    that holds none is copied without them (issue 20); the snapshot records that it holds none."""
    base, home, config, log = world
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    runs = backup_runs(log)
    assert len(runs) == 1 and "-aH" in runs[0] and "-aHAX" not in runs[0], runs
    assert recorded(base, full) is False


def test_a_home_with_attributes_is_copied_with_A_and_X_in_one_run(world):
    base, home, config, log = world
    os.setxattr(home / "Mail" / "cur" / "7.mail", NAME, b"keep me")
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    runs = backup_runs(log)
    assert len(runs) == 1 and "-aHAX" in runs[0], runs
    assert recorded(base, full) is True
    log.write_text("")
    backup(config, "incremental", "2026-11-23T02:30:00+00:00")  # known to hold some: -AX at once
    runs = backup_runs(log)
    assert len(runs) == 1 and "-aHAX" in runs[0], runs


def test_an_attribute_set_while_rsync_copies_is_in_the_snapshot(world):
    """The window between the look at the home and rsync's read of a file: an attribute set
    there (here by the rsync wrapper, just before the copy starts) is found by the look after
    the copy, and the source is copied again with -A/-X into a fresh partial snapshot."""
    base, home, config, log = world
    tagged = home / "src" / "app" / "m3.py"
    program = base / "rsync-tagging"
    marker = base / "tagged-once"
    program.write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in *--delete-excluded*) [ -e {marker} ] || {{ : > {marker}; "
        f"{sys.executable} -c 'import os; os.setxattr(\"{tagged}\", \"{NAME}\", b\"late\")'; }};; esac\n"
        f"exec {base / 'rsync-recording'} \"$@\"\n")
    program.chmod(0o755)
    import yaml

    document = yaml.safe_load(config.read_text())
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    runs = backup_runs(log)
    assert len(runs) == 2 and "-aHAX" not in runs[0] and "-aHAX" in runs[1], runs
    copy = base / "repository" / "snapshots" / full / "data" / "home" / tagged.relative_to(home)
    assert os.getxattr(copy, NAME) == b"late"
    assert recorded(base, full) is True
    assert not list((base / "repository" / "partial").iterdir())
