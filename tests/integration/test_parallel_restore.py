"""Local restores run one rsync per laptop path, several at once, only when the result is the
same as one rsync's: real rsync, the argv of every run recorded, the laptop compared."""

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import need_programs
from tests.integration.test_restore import backup, build_home, laptop_equals, write_config
from tests.integration.test_symlink_walk import recording_rsync
from travelsync.restore import parallel

pytestmark = pytest.mark.integration


def setup(tmp_path: Path, *, hard_link: bool):
    """A home in a private folder, backed up once through a recording rsync: (base, home,
    config, argv log, snapshot id, its snapshot.json)."""
    need_programs("rsync")
    base = tmp_path / "private"
    base.mkdir(mode=0o700)
    home = build_home(base)
    if hard_link:  # one file under two laptop paths
        os.link(home / "Mail" / "cur" / "0.mail", home / "src" / "linked.mail")
    config = write_config(base, home)
    program, log = recording_rsync(tmp_path)
    document = yaml.safe_load(config.read_text())
    document["rsync"]["program"] = str(program)
    config.write_text(yaml.safe_dump(document))
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    record = json.loads((base / "repository" / "snapshots" / full / "snapshot.json").read_text())
    return base, home, config, log, full, record


def restore(config: Path, log: Path, snapshot: str) -> list[list[str]]:
    """`travelsync restore --from SNAPSHOT` (no terminal, so no bar); the restore runs' argv."""
    log.write_text("")
    from travelsync.cli import cli as group

    result = CliRunner().invoke(group, ["--json", "restore", "--from", snapshot], env={"TRAVELSYNC_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    return [line.split() for line in log.read_text().splitlines() if "--backup" in line.split()]


def sources_of(argv: list[str]) -> list[str]:
    return [a.rsplit("/./", 1)[1] for a in argv[argv.index("--") + 1:-1]]


def test_without_hard_links_each_path_gets_its_own_rsync_and_the_laptop_equals_the_snapshot(tmp_path):
    base, home, config, log, full, record = setup(tmp_path, hard_link=False)
    assert record["rsync"]["hard_link_followers"] == 0
    runs = restore(config, log, full)
    if (os.cpu_count() or 1) < 2:
        assert len(runs) == 1  # one core: one rsync for all paths
    else:
        assert sorted(sources_of(argv)[0] for argv in runs) == [".fetchmailrc", "Mail", "src"]
        assert all(len(sources_of(argv)) == 1 for argv in runs)
    laptop_home = base / "laptop" / home.relative_to("/")
    assert laptop_equals(base, laptop_home, full)
    assert not (base / "laptop" / ".travelsync-displaced").exists()  # nothing displaced, nothing left


def test_a_hard_link_between_two_paths_keeps_one_rsync_and_the_link(tmp_path):
    base, home, config, log, full, record = setup(tmp_path, hard_link=True)
    assert record["rsync"]["hard_link_followers"] == 1
    runs = restore(config, log, full)
    assert len(runs) == 1 and sorted(sources_of(runs[0])) == [".fetchmailrc", "Mail", "src"]
    laptop_home = base / "laptop" / home.relative_to("/")
    assert (laptop_home / "Mail" / "cur" / "0.mail").stat().st_ino == (laptop_home / "src" / "linked.mail").stat().st_ino


def test_an_incremental_still_counts_the_unchanged_hard_link(tmp_path):
    base, home, config, _log, _full, _record = setup(tmp_path, hard_link=True)
    (home / "src" / "app" / "m1.py").write_text("changed\n")
    latest = backup(config, "incremental", "2026-11-23T02:30:00+00:00")
    document = json.loads((base / "repository" / "snapshots" / latest / "snapshot.json").read_text())
    assert document["rsync"]["hard_link_followers"] == 1


def plan(insides=("Mail", "src"), *, dry_run=False, remote=False, flat=False, in_place=False):
    target = SimpleNamespace(is_remote=remote)
    group = SimpleNamespace(insides=tuple(insides))
    return SimpleNamespace(groups=(group,), dry_run=dry_run, target=target, snapshot_id="S", flat=flat,
                           displaced_suffix=".travelsync-X" if in_place else None)


def repository(followers):
    rsync = {} if followers is None else {"hard_link_followers": followers}
    return SimpleNamespace(get=lambda snapshot_id: SimpleNamespace(rsync=rsync))


CONFIG = SimpleNamespace(repository=SimpleNamespace(is_remote=False))


@pytest.mark.parametrize("case, followers", [
    ("hard links in the snapshot", 2),
    ("a snapshot from before the count", None),
])
def test_one_rsync_when_splitting_could_differ(case, followers):
    assert parallel.workers(CONFIG, repository(followers), plan()) == 1, case


def test_one_rsync_for_a_dry_run_a_remote_end_nested_paths_or_a_single_path():
    repo = repository(0)
    assert parallel.workers(CONFIG, repo, plan(dry_run=True)) == 1
    assert parallel.workers(CONFIG, repo, plan(remote=True)) == 1
    assert parallel.workers(CONFIG, repo, plan(("Mail/cur", "src"))) == 1
    assert parallel.workers(CONFIG, repo, plan(("Mail",))) == 1
    assert parallel.workers(CONFIG, repo, plan(("Mail", "src", "notes"), flat=True)) == 1  # restore --to DIR
    assert parallel.workers(CONFIG, repo, plan(("Mail", "src", "notes"), in_place=True)) == 1
    if (os.cpu_count() or 1) >= 2:
        assert parallel.workers(CONFIG, repo, plan(("Mail", "src", "notes"))) >= 2


def test_with_a_bar_the_runs_still_go_at_once_and_their_progress_adds_up(tmp_path):
    """A person at a terminal gets the parallel restore too: one bar, fed the runs' sum."""
    from travelsync.config import load_config
    from travelsync.repository import open_repository
    from travelsync.restore.runner import plan_restore, run_restore

    base, home, config, log, full, _ = setup(tmp_path, hard_link=False)
    log.write_text("")
    loaded = load_config(config)
    repo = open_repository(loaded)
    the_plan = plan_restore(loaded, repo, full, list(loaded.laptop.paths), stamp="20261123T180000Z")
    shown = []
    report = run_restore(loaded, repo, the_plan, on_progress=shown.append)
    runs = [line.split() for line in log.read_text().splitlines() if "--backup" in line.split()]
    assert len(runs) == (3 if (os.cpu_count() or 1) >= 2 else 1)  # one core: one rsync for the three
    assert all("--info=progress2" in argv for argv in runs)
    assert shown and shown[-1].percent == 100 and shown[-1].bytes == report.bytes_transferred
    assert [p.bytes for p in shown] == sorted(p.bytes for p in shown)  # the sum never goes back
    assert laptop_equals(base, base / "laptop" / home.relative_to("/"), full)
