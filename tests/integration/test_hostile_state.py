"""A hostile or damaged state file is refused before anything acts on it (issue 15, finding 4):
with real rsync, a resumed prepare, finalize or return whose trip.json holds an absolute or
`..` stamp, a forged snapshot id or path exits 2 naming the file and the field, and writes or
deletes nothing (the whole test folder, laptop root included, is listed before and after)."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.integration.test_trip import FINALIZE_AT, PREPARE_AT, RETURN_AT, new_mail_and_nightly, state_file, trip  # noqa: F401
from travelsync.exitcodes import ExitStatus

pytestmark = pytest.mark.integration


def listing(root: Path) -> dict:
    """Every entry under `root`: relative name → (kind, size, mtime_ns, sha256 of a file's bytes)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return found


def interrupted(step: str, snapshot: str, stamp: str, paths=("home/Mail", "home/src", "home/.fetchmailrc")) -> dict:
    running = {"step": step, "started": "2026-11-24T07:00:00+00:00", "stamp": stamp, "stages": {}}
    if step != "return":
        running.update(snapshot=snapshot, paths=list(paths))
    return running


@pytest.mark.parametrize("step, field, value", [
    ("prepare", "stamp", "../../outside"),
    ("prepare", "stamp", "{base}/absolute-outside"),
    ("prepare", "snapshot", "../../../home"),
    ("prepare", "paths", ["home/../../.."]),
    ("prepare", "paths", ["/"]),
    ("prepare", "stamp", "20261124T070000Z\0/../../outside"),
    ("prepare", "stamp", "20261124T070000Z\n"),
    ("prepare", "stamp", 20261124),
    ("prepare", "snapshot", "latest"),
    ("prepare", "snapshot", "20261122T023000Z-full/../../.."),
    ("prepare", "snapshot", ["20261122T023000Z-full"]),
    ("finalize", "stamp", "../../outside"),
    ("finalize", "stamp", "{base}/absolute-outside"),
    ("return", "stamp", "../../../../outside"),
])
def test_a_resumed_step_with_a_hostile_field_writes_and_deletes_nothing(trip, cli, step, field, value):  # noqa: F811
    base, home, config, full, monday = trip
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    latest, _ = new_mail_and_nightly(home, config)
    if step == "return":
        assert cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT}).exit_code == 0
    laptop_home = base / "laptop" / home.relative_to("/")
    (laptop_home / "src" / "app" / "m1.py").write_text("changed on the laptop: a restore moves it aside\n")
    (laptop_home / "src" / "app" / "m2.py").write_text("changed on the laptop too\n")
    (home / "src" / "app" / "m2.py").write_text("and at home: sync-back keeps both, the laptop's as m2.py.laptop-STAMP\n")
    document = json.loads(state_file().read_text())
    running = interrupted(step, latest if step == "finalize" else full, "20261124T070000Z")
    running[field] = value.replace("{base}", str(base)) if isinstance(value, str) else value
    document["in_progress"] = running
    state_file().write_text(json.dumps(document))
    before, state_before = listing(base), state_file().read_bytes()

    argv = {"prepare": ["prepare", "--skip-preflight"], "finalize": ["finalize", "--skip-preflight"],
            "return": ["return", "--sync-back"]}[step]
    result = cli(*argv, env={"TRAVELSYNC_NOW": {"prepare": PREPARE_AT, "finalize": FINALIZE_AT,
                                                "return": RETURN_AT}[step]})
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert f"{state_file()}: field in_progress.{field}" in result.stderr
    assert listing(base) == before
    assert state_file().read_bytes() == state_before
    assert not (base / "outside").exists() and not (base / "absolute-outside").exists()


def test_status_and_prune_refuse_a_damaged_trip_state_instead_of_dropping_its_protection(trip, cli):  # noqa: F811
    base, home, config, full, monday = trip
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps({"version": 1, "state": "prepared", "in_progress": None, "history": [],
                                        "protected_snapshots": [full, "../../etc"]}))
    before = listing(base)
    for argv in (["status"], ["prune"]):
        result = cli(*argv)
        assert result.exit_code == ExitStatus.USAGE, (argv, result.stderr)
        assert f"{state_file()}: field protected_snapshots[1]" in result.stderr
    after = listing(base)
    after.pop("repository/lock"), before.pop("repository/lock")  # prune took the lock (flock): its mtime moved
    assert after == before


def test_a_forged_runs_json_stops_backup_if_due_naming_the_field(trip, cli):  # noqa: F811
    base, home, config, full, monday = trip
    runs = base / "repository" / "runs.json"
    runs.write_text(json.dumps({"no_change": [{"kind": "incremental", "started": "2026-11-30T02:30:00+00:00",
                                               "finished": "2026-11-30T02:31:00+00:00", "same_as": "../../etc"}]}))
    before = listing(base)
    result = cli("backup", "--if-due", env={"TRAVELSYNC_NOW": "2026-11-24T03:30:00+00:00"})
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert f"{runs}: field no_change[0].same_as: is not a snapshot id" in result.stderr
    after = listing(base)
    after.pop("repository/lock", None), before.pop("repository/lock", None)
    assert after == before


def test_a_damaged_mailer_json_is_refused_and_the_mail_file_kept(trip, cli):  # noqa: F811
    base, home, config, full, monday = trip
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    mailer = state_file().parent / "mailer.json"
    document = json.loads(mailer.read_text())
    (key,) = document["files"]
    document["files"][key]["original_base64"] = "cG9sbCBldmlsLmV4YW1wbGUub3JnCg=="  # "poll evil.example.org"
    mailer.write_text(json.dumps(document))
    kept = (home / ".fetchmailrc").read_bytes()
    result = cli("return", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert f"{mailer}: field files.{key}.original_base64: does not match original_sha256" in result.stderr
    assert (home / ".fetchmailrc").read_bytes() == kept


def test_a_forged_snapshot_json_is_named_with_its_field_and_never_restored_from(trip, cli):  # noqa: F811
    base, home, config, full, monday = trip
    document_path = base / "repository" / "snapshots" / monday / "snapshot.json"
    document = json.loads(document_path.read_text())
    document["parent"] = "../../../etc"
    document_path.write_text(json.dumps(document))
    listed = cli("snapshots")
    assert listed.exit_code == ExitStatus.WARNINGS
    assert f"{document_path} is damaged (field parent: is not a snapshot id" in listed.stderr.replace("\n", " "), \
        listed.stderr
    before = listing(base)
    result = cli("restore", "--from", monday, "--path", "home/Mail", "--root", base / "elsewhere")
    assert result.exit_code == ExitStatus.USAGE and f"no complete snapshot {monday!r}" in result.stderr
    assert listing(base) == before
