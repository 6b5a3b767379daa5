"""A clock behind the newest snapshot (issue 14, finding 7), with the real rsync: the dry run
says the real run would be refused; with --allow-clock-behind the snapshot's id still comes
after the newest (snapshot.json keeps the clock's own reading), and `snapshots`, `latest`,
`last-full` and prune follow the order the snapshots were taken, never the clock."""

import json
import os

import pytest
import yaml

from tests.conftest import need_programs

pytestmark = pytest.mark.timeout(120)

TRUE = "2026-11-24T02:30:00+00:00"
STEPS_BACK = ["2026-11-20T02:30:00+00:00", "2026-11-19T02:30:00+00:00", "2026-11-19T03:30:00+00:00"]


@pytest.fixture
def world(tmp_path):
    need_programs("rsync")
    home, repository = tmp_path / "home", tmp_path / "repo"
    (home / "docs").mkdir(parents=True)
    (home / "docs" / "a.txt").write_bytes(b"alpha\n" * 100)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"repository": str(repository), "retention": {"full": 1},
                                      "sources": [{"name": "home", "path": str(home)}], "rsync": {"retries": 0}}))
    return home, repository, config


def test_the_dry_run_says_the_real_run_would_be_refused(cli, world):
    home, repository, config = world
    first = cli("--config", config, "--json", "backup", "--full", env={"TRAVELSYNC_NOW": TRUE})
    assert first.exit_code == 0, first.stderr
    before = sorted(os.listdir(repository / "snapshots")), os.readlink(repository / "latest")
    dry = cli("--config", config, "backup", "--dry-run", "--incremental", env={"TRAVELSYNC_NOW": STEPS_BACK[0]})
    assert dry.exit_code == 3, (dry.exit_code, dry.stderr)
    assert "behind the newest snapshot" in dry.stderr and "would be refused" in dry.stderr, dry.stderr
    assert STEPS_BACK[0] in dry.stderr and first.json["snapshot"] in dry.stderr and "--allow-clock-behind" in dry.stderr
    assert (sorted(os.listdir(repository / "snapshots")), os.readlink(repository / "latest")) == before
    allowed = cli("--config", config, "backup", "--dry-run", "--incremental", "--allow-clock-behind",
                  env={"TRAVELSYNC_NOW": STEPS_BACK[0]})
    assert allowed.exit_code == 0 and "behind" not in allowed.stderr, allowed.stderr


def test_with_the_override_ids_stay_in_order_and_prune_keeps_the_newest(cli, world):
    home, repository, config = world
    first = cli("--config", config, "--json", "backup", "--full", env={"TRAVELSYNC_NOW": TRUE})
    assert first.exit_code == 0, first.stderr
    taken = [first.json["snapshot"]]
    for number, (kind, now) in enumerate(zip(["--incremental", "--full", "--incremental"], STEPS_BACK)):
        (home / "docs" / f"day{number}.txt").write_bytes(b"new %d\n" % number)
        done = cli("--config", config, "--json", "backup", kind, "--allow-clock-behind", env={"TRAVELSYNC_NOW": now})
        assert done.exit_code == 0, done.stderr
        made = done.json["snapshot"]
        assert made > taken[-1], f"{made} must come after {taken[-1]} (the clock stepped back to {now})"
        document = json.loads((repository / "snapshots" / made / "snapshot.json").read_text())
        assert document["started"] == now  # the clock's own reading is kept
        assert os.readlink(repository / "latest") == f"snapshots/{made}"
        taken.append(made)
    listed = cli("--config", config, "--json", "snapshots", env={"TRAVELSYNC_NOW": STEPS_BACK[-1]})
    assert [s["id"] for s in listed.json] == taken
    last_full = cli("--config", config, "--json", "verify", "last-full", env={"TRAVELSYNC_NOW": STEPS_BACK[-1]})
    assert last_full.exit_code == 0 and taken[2] in last_full.stdout, last_full.stdout
    pruned = cli("--config", config, "--json", "prune", env={"TRAVELSYNC_NOW": STEPS_BACK[-1]})
    assert pruned.exit_code == 0, pruned.stderr
    assert pruned.json["deleted"] == taken[:2] and pruned.json["kept"] == taken[2:], pruned.json
    assert sorted(os.listdir(repository / "snapshots")) == taken[2:]
    assert os.readlink(repository / "latest") == f"snapshots/{taken[-1]}"
