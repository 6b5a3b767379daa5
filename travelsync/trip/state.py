"""The trip state machine, kept in $XDG_STATE_HOME/travelsync/trip.json.

    idle ──prepare──▶ prepared ──finalize──▶ finalized ──return──▶ returned ──prepare──▶ …

Every step writes `in_progress` (which step, its snapshot, its displaced-folder stamp, the
stages done) before it changes anything and clears it when it is done; a step that finds
its own `in_progress` after a crash resumes with the same snapshot and stamp.  Writes are
atomic (temp file + rename); every read and write is checked against the file's schema
(statefiles/trip.py), so a damaged or edited file is refused before a step acts on it.  `protected_snapshots` lists the snapshots the trip depends
on: retention never deletes them.
"""

from datetime import datetime
from pathlib import Path

from travelsync.atomic import atomic_write_json
from travelsync.errors import UsageError
from travelsync.statefiles import trip as trip_file

FILE_NAME = "trip.json"
IDLE, PREPARED, FINALIZED, RETURNED = "idle", "prepared", "finalized", "returned"
STATES = (IDLE, PREPARED, FINALIZED, RETURNED)
STEPS = ("prepare", "finalize", "return")

# Which states each step may start from (re-running a finished step is allowed: idempotent).
ALLOWED = {
    "prepare": (IDLE, PREPARED, RETURNED),
    "finalize": (PREPARED, FINALIZED),
    "return": (PREPARED, FINALIZED, RETURNED),
}


def state_file(state_dir) -> Path:
    return Path(state_dir) / FILE_NAME


def empty() -> dict:
    return trip_file.empty()


def load(state_dir) -> dict:
    """The trip document (a fresh idle one when there is none), every field checked against
    trip.json's schema (statefiles/trip.py); DamagedStateFile (exit 2) naming the field."""
    return trip_file.load(state_file(state_dir))


def save(state_dir, document: dict) -> None:
    """Write the document, checked first: travelsync never writes what it would refuse to read."""
    path = state_file(state_dir)
    atomic_write_json(path, trip_file.validate(document, path))


def refusal(document: dict, step: str) -> UsageError | None:
    """Why `step` may not run now (with the command to run instead), or None when it may."""
    running = document.get("in_progress")
    if running and running.get("step") != step:
        other = running["step"]
        return UsageError(f"`travelsync {other}` was interrupted (started {running.get('started')}); "
                          f"run `travelsync {other}` again to finish it first")
    state = document["state"]
    if state in ALLOWED[step]:
        return None
    if step == "prepare" and state == FINALIZED:
        return UsageError("this trip is already finalized; a new prepare would put the older full back on the laptop",
                          hint="run `travelsync return` after the trip (or `travelsync finalize` again to refresh)")
    if step in ("finalize", "return") and state == IDLE:
        return UsageError(f"no trip is prepared, so there is nothing to {step}",
                          hint="run `travelsync prepare` first")
    if step == "finalize" and state == RETURNED:
        return UsageError("the last trip has ended (returned); finalize belongs to a prepared trip",
                          hint="run `travelsync prepare` to start a new trip")
    return UsageError(f"`{step}` cannot run in trip state {state!r}")


def require(document: dict, step: str) -> None:
    problem = refusal(document, step)
    if problem is not None:
        raise problem


def resuming(document: dict, step: str) -> dict | None:
    """The interrupted run of `step` to resume, or None."""
    running = document.get("in_progress")
    return running if running and running.get("step") == step else None


def begin(state_dir, document: dict, step: str, now: datetime, **facts) -> dict:
    """Record that `step` started (snapshot, stamp…): written before anything changes."""
    document["in_progress"] = {"step": step, "started": now.isoformat(), "stages": {}, **facts}
    save(state_dir, document)
    return document["in_progress"]


def stage_done(state_dir, document: dict, stage: str, result) -> None:
    """Record one finished stage of the step in progress (restore, mail, preflight)."""
    document["in_progress"]["stages"][stage] = result
    save(state_dir, document)


def protect(state_dir, document: dict, snapshot_ids) -> None:
    """Add snapshots the trip depends on to `protected_snapshots` (before restoring from them)."""
    current = list(document.get("protected_snapshots") or [])
    for snapshot_id in snapshot_ids:
        if snapshot_id and snapshot_id not in current:
            current.append(snapshot_id)
    document["protected_snapshots"] = current
    save(state_dir, document)


def finish(state_dir, document: dict, step: str, new_state: str, record: dict, now: datetime) -> dict:
    """Move to `new_state`, keep `record` under the step's name, clear in_progress; return the document."""
    document[step] = {**record, "at": now.isoformat()}
    document["state"] = new_state
    document["in_progress"] = None
    history = list(document.get("history") or [])
    history.append({"step": step, "at": now.isoformat(), "state": new_state})
    document["history"] = history[-50:]
    save(state_dir, document)
    return document
