"""State files read back (trip.json, runs.json, mailer.json, snapshot.json): every field is
checked against the file's schema; a hostile or damaged value is refused with the file's path
and the field (exit 2), never acted on (issue 15, finding 4)."""

import base64
import copy
import hashlib
import json
import re

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
HOSTILE_TEXTS = ["/", "/etc", "..", "../../etc", "20261124T070000Z/../../..", "a\0b", "a\nb", "",
                 "20261124T070000Z\n", "20261122T023000Z-full\n"]
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
    ("in_progress.stages.restore.target", 5),
    ("in_progress.step", "rm"), ("in_progress.started", "yesterday"), ("in_progress.started", "2026-11-24T07:00:00"),
    ("state", "flying"), ("state", None), ("version", "1"), ("version", True), ("version", 0),
    ("history[0].at", 5), ("prepare.preflight[0].status", 5), ("protected_snapshots", FULL),
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


# -- runs.json ---------------------------------------------------------------------------------

RUN = {"kind": "incremental", "started": "2026-11-24T02:30:00+00:00", "finished": "2026-11-24T02:31:00+00:00",
       "same_as": INCR}


@pytest.mark.parametrize("field, value", [
    *[("no_change[0].same_as", v) for v in HOSTILE_TEXTS + HOSTILE_TYPES + ["latest"]],
    *[("no_change[0].started", v) for v in ("2026-11-24T02:30:00", "tomorrow", 5, None)],
    ("no_change[0].kind", "weekly"), ("no_change[0].kind", None), ("no_change", {}), ("no_change[0]", "x"),
])
def test_runs_json_refuses_a_hostile_run(field, value):
    from travelsync.statefiles import runs

    text = json.dumps(set_field({"no_change": [dict(RUN)]}, field, value)).encode()
    with pytest.raises(DamagedStateFile) as refused:
        runs.parse(text, "/repo/runs.json")
    assert refused.value.field == field and refused.value.message.startswith("/repo/runs.json: field ")
    assert refused.value.exit_status == ExitStatus.USAGE


def test_runs_json_absent_empty_or_whole_is_read():
    from travelsync.statefiles import runs

    assert runs.parse(None, "r") == [] and runs.parse(b"", "r") == []
    assert runs.parse(json.dumps({"no_change": [RUN]}).encode(), "r") == [RUN]
    with pytest.raises(DamagedStateFile, match="r: damaged"):
        runs.parse(b"{no", "r")


# -- mailer.json -------------------------------------------------------------------------------

ORIGINAL = b"poll pop.example.org protocol pop3\n  user marc password secret\n"
SAVED = {"kind": "fetchmail", "file": "/home/marc/.fetchmailrc",
         "original_base64": base64.b64encode(ORIGINAL).decode(),
         "original_sha256": hashlib.sha256(ORIGINAL).hexdigest(), "written_sha256": "0" * 64,
         "changes": [{"account": "pop.example.org", "setting": "keep", "before": None, "after": "keep"}],
         "saved_at": "20261123T180000Z"}
MAILER = {"version": 1, "files": {"/home/marc/.fetchmailrc": SAVED}}
KEY = "/home/marc/.fetchmailrc"


@pytest.mark.parametrize("field, value", [
    ("kind", "rm -rf"), ("kind", 5), ("file", "a\nb"), ("file", None),
    ("original_base64", "not base64!"), ("original_base64", base64.b64encode(b"other bytes").decode()),
    ("original_sha256", "x"), ("written_sha256", 5), ("changes", "keep"), ("changes", [{"account": "a"}]),
])
def test_mailer_json_refuses_a_damaged_record(tmp_path, field, value):
    from travelsync.statefiles import mailer

    document = copy.deepcopy(MAILER)
    document["files"][KEY][field] = value
    path = tmp_path / "mailer.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DamagedStateFile) as refused:
        mailer.load(path)
    assert refused.value.field.startswith(f"files.{KEY}.{field}"), refused.value.message
    assert refused.value.message.startswith(f"{path}: field files.{KEY}.{field}")


def test_mailer_json_whole_or_absent_is_read(tmp_path):
    from travelsync.statefiles import mailer

    path = tmp_path / "mailer.json"
    assert mailer.load(path) == {"version": 1, "files": {}}
    path.write_text(json.dumps(MAILER))
    assert mailer.load(path) == MAILER
    path.write_text(json.dumps({"version": 1, "files": {"a\nb": SAVED}}))
    with pytest.raises(DamagedStateFile, match="control character"):
        mailer.load(path)
    path.write_text(json.dumps({"version": 1, "files": {"a\nb": {**SAVED, "kind": 5}}}))
    with pytest.raises(DamagedStateFile) as refused:
        mailer.load(path)
    assert refused.value.field == "files['a\\nb'].kind" and "\n" not in refused.value.message


# -- snapshot.json -----------------------------------------------------------------------------

SNAPSHOT = {"format": 1, "id": FULL, "kind": "full", "parent": None, "started": "2026-11-22T02:30:00+00:00",
            "finished": "2026-11-22T02:31:00+00:00", "status": "complete", "files": 3, "bytes": 100,
            "warnings": [], "sources": ["home"], "rsync": {}, "failed_files": [], "extended_attributes": False}


@pytest.mark.parametrize("field, value", [
    *[("parent", v) for v in HOSTILE_TEXTS + [5, "latest", "../20261121T023000Z-full"]],
    *[("sources[0]", v) for v in ["/", "..", "a/b", "a\0", "a\nb", "", 5]],
    ("files", -1), ("bytes", "100"), ("warnings", "x"), ("rsync", []), ("extended_attributes", "yes"),
    ("status", "done"), ("format", "1"),
])
def test_snapshot_json_refuses_a_hostile_field_naming_it(field, value):
    from travelsync.repository.snapshot import DamagedSnapshot, read_snapshot

    document = json.dumps(set_field(SNAPSHOT, field, value)).encode()
    with pytest.raises(DamagedSnapshot, match=rf"is damaged \(field {re.escape(field)}: "):
        read_snapshot(FULL, document)


def test_snapshot_json_with_a_key_of_a_newer_version_is_read():
    from travelsync.repository.snapshot import read_snapshot

    assert read_snapshot(FULL, json.dumps({**SNAPSHOT, "changes_file": "x"}).encode()).id == FULL


def test_files_of_each_older_shape_still_load(tmp_path):
    """Written before `version` was: trip.json (any key optional), mailer.json, runs.json."""
    from travelsync.statefiles import mailer, runs

    path = tmp_path / "mailer.json"
    path.write_text(json.dumps({"files": {KEY: SAVED}}))
    assert mailer.load(path) == MAILER
    assert runs.parse(json.dumps({"no_change": [RUN]}).encode(), "r") == [RUN]
    old_trip = {"state": "prepared", "protected_snapshots": [FULL], "prepare": PREPARED}
    path = tmp_path / "trip.json"
    path.write_text(json.dumps(old_trip))
    assert trip.load(path) == {**trip.empty(), **old_trip}


def test_file_names_that_are_only_shown_may_be_any_name_a_file_system_allows(tmp_path):
    """A laptop file named with a newline is displaced and listed like any other: the trip's
    state must still be written (only what a step acts on has a strict shape)."""
    odd = "home/marc/Mail/cur/1 to 2\nthree -x"
    document = copy.deepcopy(GOOD)
    document["in_progress"]["stages"]["restore"].update(displaced=[odd], displaced_folder=f"/laptop/x\ny")
    document["return"] = {"at": "2026-12-02T20:00:00+00:00", "mail": None, "warnings": [], "released_snapshots": [],
                          "sync_back": {"basis": FULL, "copy": [odd], "deleted_on_laptop": [odd], "applied": True,
                                        "conflicts": [{"path": odd, "laptop_copy": odd + ".laptop-x"}]}}
    assert trip.validate(document, tmp_path / "trip.json") == document
