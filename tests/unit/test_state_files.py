"""State files read back (trip.json, runs.json, mailer.json, snapshot.json): every field is
checked against the file's schema; a hostile or damaged value is refused with the file's path
and the field (exit 2), never acted on (issue 15, finding 4)."""

import base64
import copy
import hashlib
import json

import pytest

from travelsync.exitcodes import ExitStatus
from travelsync.statefiles import trip
from travelsync.statefiles.schema import DamagedStateFile

FULL, INCR, STAMP = "20261122T023000Z-full", "20261124T023000Z-incr", "20261124T070000Z"
RESTORED = {"snapshot": FULL, "target": "/laptop", "paths": ["home/Mail"], "files_transferred": 3,
            "bytes_transferred": 12000, "seconds": 0.4, "warnings": [], "total_size": 12000, "deleted": 0,
            "dry_run": False, "displaced_folder": None, "displaced": []}
PREPARED = {"at": "2026-11-23T18:00:00+00:00", "snapshot": FULL, "stamp": "20261123T180000Z",
            "paths": ["home/Mail", "home/src"], "target": "/laptop", "restore": RESTORED, "mail": None,
            "preflight": [{"name": "ipv6", "status": "ok", "summary": "fine", "details": [], "fix": []}]}
GOOD = {"version": 1, "state": "prepared", "protected_snapshots": [FULL, INCR],
        "history": [{"step": "prepare", "at": "2026-11-23T18:00:00+00:00", "state": "prepared"}],
        "prepare": PREPARED,
        "in_progress": {"step": "finalize", "started": "2026-11-24T07:00:00+00:00", "snapshot": INCR,
                        "stamp": STAMP, "paths": ["home/Mail", "home/src"], "stages": {"restore": RESTORED}}}

# The values an attacker (or a damaged disk) would put into a field that becomes a path or an id.
HOSTILE_TEXTS = ["/", "/etc", "..", "../../etc", "20261124T070000Z/../../..", "a\0b", "a\nb", ""]
HOSTILE_TYPES = [5, None, True, ["20261124T070000Z"], {"a": 1}, 1.5]


def set_field(document, field: str, value):
    """`in_progress.paths[0]` → document["in_progress"]["paths"][0] = value (a deep copy)."""
    document = copy.deepcopy(document)
    *parents, last = field.replace("[", ".[").split(".")
    place = document
    for part in parents:
        place = place[int(part[1:-1])] if part.startswith("[") else place[part]
    if last.startswith("["):
        place[int(last[1:-1])] = value
    else:
        place[last] = value
    return document


def test_a_good_document_passes_and_an_old_one_without_version_is_read_as_version_1(tmp_path):
    assert trip.validate(copy.deepcopy(GOOD), tmp_path / "trip.json") == GOOD
    old = trip.validate({"protected_snapshots": [FULL]}, tmp_path / "trip.json")
    assert old["version"] == 1 and old["state"] == "idle" and old["protected_snapshots"] == [FULL]


@pytest.mark.parametrize("field, value", [
    *[("in_progress.stamp", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES + ["20261124T070000", "T1"]],
    *[("in_progress.snapshot", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES +
      ["20261122T023000Z-full/..", "20261122T023000Z-weekly", "latest", "partial/20261122T023000Z-full"]],
    *[("in_progress.paths[1]", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES + ["home/../../etc"]],
    *[("protected_snapshots[0]", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES],
    *[("prepare.paths[0]", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES],
    *[("prepare.snapshot", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES],
    *[("prepare.stamp", v) for v in HOSTILE_TEXTS],
    *[("in_progress.stages.restore.files_transferred", v) for v in (-1, "3", None, True)],
    *[("in_progress.stages.restore.target", v) for v in ("/x\n", 5)],
    ("in_progress.step", "rm"), ("in_progress.started", "yesterday"), ("in_progress.started", "2026-11-24T07:00:00"),
    ("state", "flying"), ("state", None), ("version", "1"), ("version", True), ("version", 0),
    ("history[0].at", 5), ("prepare.preflight[0].status", "great"), ("protected_snapshots", FULL),
    ("in_progress.unexpected", "x"), ("in_progress", []),
])
def test_a_hostile_value_in_any_field_is_refused_naming_the_file_and_the_field(tmp_path, field, value):
    path = tmp_path / "trip.json"
    path.write_text(json.dumps(set_field(GOOD, field, value)))
    with pytest.raises(DamagedStateFile) as refused:
        trip.load(path)
    error = refused.value
    assert error.exit_status == ExitStatus.USAGE
    assert str(path) in error.message
    assert error.field == field, error.message
    assert "\0" not in error.message and "\n" not in error.message


def test_a_missing_resume_field_is_named(tmp_path):
    document = copy.deepcopy(GOOD)
    del document["in_progress"]["snapshot"]
    with pytest.raises(DamagedStateFile, match="field in_progress.snapshot: is missing"):
        trip.validate(document, tmp_path / "trip.json")


def test_a_newer_version_is_refused_as_such(tmp_path):
    with pytest.raises(DamagedStateFile, match="field version: is 2, newer than this travelsync"):
        trip.validate({**GOOD, "version": 2}, tmp_path / "trip.json")
