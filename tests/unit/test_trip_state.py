"""The trip state machine: allowed steps, refusals naming the command to run, resume, atomic file."""

import json
from datetime import datetime, timezone

import pytest

from travelsync.errors import TravelsyncError, UsageError
from travelsync.exitcodes import ExitStatus
from travelsync.repository.protected import protected_snapshot_ids
from travelsync.trip import state

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=timezone.utc)
S1, T1 = "20261122T023000Z-full", "20261124T070000Z"
FULL, INCR = S1, "20261123T023000Z-incr"
RESTORED = {"snapshot": S1, "target": "/laptop", "paths": ["home/Mail"], "files_transferred": 1,
            "bytes_transferred": 5, "seconds": 0.5, "warnings": []}
RECORD = {"snapshot": S1, "stamp": T1, "paths": ["home/Mail"], "target": "/laptop", "restore": RESTORED,
          "mail": None, "preflight": []}


def test_fresh_state_is_idle(tmp_path):
    document = state.load(tmp_path)
    assert document["state"] == state.IDLE and document["in_progress"] is None
    assert not (tmp_path / "trip.json").exists()


@pytest.mark.parametrize("current, step, hint", [
    (state.IDLE, "finalize", "travelsync prepare"),
    (state.IDLE, "return", "travelsync prepare"),
    (state.FINALIZED, "prepare", "travelsync return"),
    (state.RETURNED, "finalize", "travelsync prepare"),
])
def test_out_of_order_is_a_usage_error_naming_the_command(current, step, hint):
    document = {**state.empty(), "state": current}
    problem = state.refusal(document, step)
    assert isinstance(problem, UsageError) and problem.exit_status == ExitStatus.USAGE
    assert hint in problem.message + (problem.hint or "")


@pytest.mark.parametrize("current, step", [
    (state.IDLE, "prepare"), (state.PREPARED, "prepare"), (state.RETURNED, "prepare"),
    (state.PREPARED, "finalize"), (state.FINALIZED, "finalize"),
    (state.PREPARED, "return"), (state.FINALIZED, "return"), (state.RETURNED, "return"),
])
def test_allowed_steps_including_reruns(current, step):
    assert state.refusal({**state.empty(), "state": current}, step) is None


def test_interrupted_step_blocks_others_and_resumes_itself(tmp_path):
    document = state.load(tmp_path)
    state.begin(tmp_path, document, "prepare", NOW, snapshot=S1, stamp=T1, paths=["home/Mail"])
    state.stage_done(tmp_path, document, "restore", RESTORED)
    again = state.load(tmp_path)  # as after a crash
    problem = state.refusal(again, "finalize")
    assert "travelsync prepare` again" in problem.message
    running = state.resuming(again, "prepare")
    assert running["snapshot"] == S1 and running["stamp"] == T1
    assert running["stages"] == {"restore": RESTORED}
    assert state.resuming(again, "finalize") is None


def test_finish_moves_state_clears_progress_and_keeps_history(tmp_path):
    document = state.load(tmp_path)
    state.begin(tmp_path, document, "prepare", NOW, snapshot=S1, stamp=T1, paths=["home/Mail"])
    state.finish(tmp_path, document, "prepare", state.PREPARED, RECORD, NOW)
    saved = json.loads((tmp_path / "trip.json").read_text())
    assert saved["state"] == "prepared" and saved["in_progress"] is None
    assert saved["prepare"] == {**RECORD, "at": NOW.isoformat()}
    assert saved["history"][-1]["step"] == "prepare"
    assert (tmp_path / "trip.json").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*.travelsync-tmp"))


def test_protected_snapshots_are_what_retention_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    folder = tmp_path / "travelsync"
    document = state.load(folder)
    state.protect(folder, document, [FULL, INCR, FULL])
    assert protected_snapshot_ids() == frozenset({FULL, INCR})
    assert state.load(folder)["protected_snapshots"] == [FULL, INCR]


def test_damaged_state_file_is_a_clear_error(tmp_path):
    (tmp_path / "trip.json").write_text("{not json")
    with pytest.raises(TravelsyncError, match="damaged trip state") as damaged:
        state.load(tmp_path)
    assert damaged.value.exit_status == ExitStatus.USAGE
    (tmp_path / "trip.json").write_text('{"state": "flying"}')
    with pytest.raises(TravelsyncError, match=r"trip.json: field state: is not one of") as flying:
        state.load(tmp_path)
    assert flying.value.exit_status == ExitStatus.USAGE
