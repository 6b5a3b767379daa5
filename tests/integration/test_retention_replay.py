"""Calendar retention with the real rsync: nightly `backup --auto` and `prune` replayed day by
day with TRAVELSYNC_NOW (a full on Sundays), then exactly the snapshots the brute-force
reading of the policy keeps are left, each still verifiable. TRAVELSYNC_RETENTION_DAYS=400
replays the full 400 days (the default is a quick 90)."""

import os
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests.conftest import need_programs
from tests.unit.test_retention_calendar import expected_keep
from travelsync.config.model import Retention

pytestmark = pytest.mark.timeout(1800)
DAYS = int(os.environ.get("TRAVELSYNC_RETENTION_DAYS", "90"))
START = datetime(2026, 8, 30, 2, 30, tzinfo=timezone.utc)  # a Sunday


def test_nightly_backups_and_prunes_keep_exactly_the_calendar_set(cli, tmp_path, isolated_dirs):
    need_programs("rsync")
    source, repo, config = tmp_path / "source", tmp_path / "repo", tmp_path / "config.yaml"
    (source / "notes").mkdir(parents=True)
    policy = {"full": 1, "keep_daily": 4, "keep_weekly": 2, "keep_monthly": 3, "keep_within": "2d"}
    config.write_text(yaml.safe_dump({
        "repository": str(repo), "sources": [{"name": "home", "path": str(source)}],
        "schedule": {"timezone": "UTC"}, "retention": policy, "rsync": {"retries": 0}}))
    taken = []
    for day in range(DAYS):
        now = {"TRAVELSYNC_NOW": (START + timedelta(days=day)).isoformat()}
        (source / "notes" / f"day{day:03d}.txt").write_text(f"day {day}\n")  # a new file: never "no change"
        done = cli("--config", config, "--json", "backup", env=now)
        assert done.exit_code == 0 and not done.json["no_change"], done.stderr
        taken.append(done.json)
        pruned = cli("--config", config, "--json", "prune", env=now)
        assert pruned.exit_code == 0, pruned.stderr
    assert [t["kind"] for t in taken[:8]] == ["full"] + ["incremental"] * 6 + ["full"]
    listed = cli("--config", config, "--json", "snapshots").json
    history = [_Snap(t["snapshot"], t["kind"], START + timedelta(days=n)) for n, t in enumerate(taken)]
    assert {s["id"] for s in listed} == expected_keep(history, Retention(**policy), set(), timezone.utc)
    assert sorted(p.name for p in (repo / "snapshots").iterdir()) == sorted(s["id"] for s in listed)
    dry = cli("--config", config, "prune", "--dry-run")
    month = (START + timedelta(days=DAYS - 1)).strftime("%Y-%m")
    kept = [line for line in dry.stdout.splitlines() if line.startswith("kept:")]
    assert len(kept) == len(listed) and "would delete" not in dry.stdout
    assert any(f"monthly {month}" in line and "latest" in line for line in kept), dry.stdout
    for snapshot in listed:
        assert cli("--config", config, "verify", snapshot["id"]).exit_code == 0


class _Snap:
    def __init__(self, id, kind, started):
        self.id, self.kind, self.started = id, kind, started
