"""`travelsync demo`: the whole journey in a sandbox, as the README's main command runs it."""

import os
from pathlib import Path

import pytest

from tests.conftest import need_programs

pytestmark = pytest.mark.integration


def test_demo_runs_the_journey_and_cleans_up(cli_process, tmp_path):
    need_programs("rsync")
    env = {"TMPDIR": str(tmp_path)}
    result = cli_process("--json", "demo", "--files", "120", env=env, timeout=120)
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["ok"] and data["checks"] and all(data["checks"].values()), data["checks"]
    steps = [row["step"] for row in data["timeline"] if row["step"] != "event"]
    assert steps == ["full backup", "incremental", "incremental", "prepare", "nightly incremental", "finalize",
                     "return"]
    rows = {row["step"]: row for row in data["timeline"]}
    assert rows["prepare"]["snapshot"].endswith("-full") and rows["finalize"]["snapshot"].endswith("-incr")
    assert 0 < rows["finalize"]["bytes_transferred"] < rows["prepare"]["bytes_transferred"] / 4
    assert data["sandbox"] is None and list(tmp_path.iterdir()) == []


def test_demo_keep_leaves_an_explorable_sandbox(cli_process, tmp_path):
    need_programs("rsync")
    result = cli_process("demo", "--keep", "--files", "40", env={"TMPDIR": str(tmp_path)}, timeout=120)
    assert result.exit_code == 0, result.stderr + result.stdout
    assert "demo succeeded" in result.stdout and "finalize" in result.stdout
    sandbox = Path(next(line.split()[2] for line in result.stdout.splitlines() if line.startswith("sandbox kept:")))
    assert sandbox.parent == tmp_path
    assert (sandbox / "config" / "travelsync.yaml").is_file()
    snapshots = sorted(p.name for p in (sandbox / "repository" / "snapshots").iterdir())
    assert len(snapshots) == 4 and snapshots[0].endswith("-full")
    status = cli_process("status", env={"TRAVELSYNC_CONFIG": str(sandbox / "config" / "travelsync.yaml"),
                                        "XDG_STATE_HOME": str(sandbox / "state")})
    assert status.exit_code == 0 and "trip: returned" in status.stdout
    assert os.access(sandbox, os.W_OK)
