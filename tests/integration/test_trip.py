"""The journey with real rsync: prepare, new mail, incremental, finalize, return — locally,
with the laptop over a real sshd on 127.0.0.1, and killed with SIGKILL in the middle."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.integration.test_restore import (backup, build_home, laptop_equals, snapshot_data, stat_outside,
                                            write_config, write_mail)
from travelsync.exitcodes import ExitStatus

pytestmark = pytest.mark.integration

FULL_AT, INCR_AT, PREPARE_AT = "2026-11-22T02:30:00+00:00", "2026-11-23T02:30:00+00:00", "2026-11-23T18:00:00+00:00"
NIGHT_AT, FINALIZE_AT, RETURN_AT = "2026-11-24T02:30:00+00:00", "2026-11-24T07:00:00+00:00", "2026-12-02T20:00:00+00:00"


@pytest.fixture
def trip(tmp_path, monkeypatch):
    """Home with a Maildir, a full on Sunday and an incremental on Monday (newer than the full)."""
    need_programs("rsync", "fetchmail")
    home = build_home(tmp_path)
    config = write_config(tmp_path, home)
    monkeypatch.setenv("TRAVELSYNC_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(home))
    full = backup(config, "full", FULL_AT)
    write_mail(home, "monday.mail", sub="new")
    incremental = backup(config, "incremental", INCR_AT)
    return tmp_path, home, config, full, incremental


def new_mail_and_nightly(home: Path, config: Path, count: int = 3) -> tuple[str, int]:
    size = 0
    for number in range(count):
        size += write_mail(home, f"trip-{number}.mail", sub="new").stat().st_size
    (home / "Mail" / "cur" / "2.mail").rename(home / "Mail" / "cur" / "2.mail:2,S")
    return backup(config, "incremental", NIGHT_AT), size


def state_file() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "travelsync" / "trip.json"


def test_journey_prepare_finalize_return(trip, cli):
    base, home, config, full, monday = trip
    laptop_home = base / "laptop" / home.relative_to("/")
    (laptop_home / "Other").mkdir(parents=True)
    (laptop_home / "Other" / "laptop-file").write_text("not selected: never touched\n")
    outside = stat_outside(base / "laptop", [laptop_home / p for p in ("Mail", "src", ".fetchmailrc")])

    prepared = cli("--json", "prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT})
    assert prepared.exit_code == 0, prepared.stderr
    assert prepared.json["snapshot"] == full != monday
    assert laptop_equals(base, laptop_home, full)
    assert "keep" in (home / ".fetchmailrc").read_text()
    assert json.loads(state_file().read_text())["protected_snapshots"] == [full]
    (laptop_home / "Mail" / "cur" / "draft-on-laptop").write_text("written on the laptop before departure\n")

    latest, new_bytes = new_mail_and_nightly(home, config)
    finalized = cli("--json", "finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    # only the change lists since prepare's full are sent: the laptop's own draft stays where it is
    assert finalized.exit_code == 0, finalized.stderr
    data = finalized.json
    assert data["restore"]["method"] == "delta" and data["restore"]["displaced"] == []
    draft = laptop_home / "Mail" / "cur" / "draft-on-laptop"
    assert draft.read_text().startswith("written")
    draft.unlink()
    assert data["snapshot"] == latest and laptop_equals(base, laptop_home, latest)
    assert new_bytes <= data["bytes_transferred"] < new_bytes + 20_000
    assert data["bytes_transferred"] < 0.15 * prepared.json["bytes_transferred"]
    assert [m["mode"] for m in data["mail"]] == ["keep"]
    assert stat_outside(base / "laptop", [laptop_home / p for p in ("Mail", "src", ".fetchmailrc")]) == outside

    status = cli("--json", "status", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert status.exit_code == 0, status.stderr
    assert status.json["trip"]["state"] == "finalized" and status.json["latest"]["id"] == latest
    assert status.json["last_full"]["id"] == full and status.json["mail"][0]["mode"] == "keep"
    assert set(json.loads(state_file().read_text())["protected_snapshots"]) == {full, latest}

    again = cli("prepare", "--skip-preflight")
    assert again.exit_code == ExitStatus.USAGE and "travelsync return" in again.stderr
    returned = cli("--json", "return", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert returned.exit_code in (0, 3), returned.stderr
    assert returned.json["state"] == "returned"
    assert "keep" not in (home / ".fetchmailrc").read_text()
    assert json.loads(state_file().read_text())["protected_snapshots"] == []


def test_finalize_before_prepare_is_refused_and_changes_nothing(trip, cli):
    base, home, config, full, monday = trip
    result = cli("finalize")
    assert result.exit_code == ExitStatus.USAGE
    assert "run `travelsync prepare` first" in result.stderr
    assert not state_file().exists() and not (base / "laptop").exists()
    assert "keep" not in (home / ".fetchmailrc").read_text()


def test_finalize_says_when_no_snapshot_was_taken_since_prepare(trip, cli):
    base, home, config, full, monday = trip
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    stale = cli("--json", "finalize", "--dry-run", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert stale.exit_code == ExitStatus.WARNINGS
    assert "no snapshot was taken since prepare" in stale.json["warnings"][0] and stale.json["snapshot"] == monday
    write_mail(home, "late.mail", sub="new")
    first = cli("--json", "finalize", "--backup-first", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert first.exit_code == 0, first.stderr
    assert first.json["snapshot"] not in (full, monday) and first.json["snapshot"].endswith("-incr")
    laptop_home = base / "laptop" / home.relative_to("/")
    assert (laptop_home / "Mail" / "new" / "late.mail").is_file()
    assert laptop_equals(base, laptop_home, first.json["snapshot"])


def test_sync_back_brings_laptop_changes_home_and_keeps_both_on_conflict(trip, cli, monkeypatch):
    base, home, config, full, monday = trip
    import fcntl

    from travelsync.trip import sync_back

    held = []
    plan = sync_back.plan_sync_back

    def plan_and_look(config_, repository, basis_id, *args):  # what prune would find meanwhile
        fd = os.open(base / "repository" / "readers" / basis_id, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return plan(config_, repository, basis_id, *args)

    monkeypatch.setattr(sync_back, "plan_sync_back", plan_and_look)
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    latest, _ = new_mail_and_nightly(home, config)
    assert cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT}).exit_code == 0
    laptop_home = base / "laptop" / home.relative_to("/")
    (laptop_home / "src" / "app" / "written-on-trip.py").write_text("print('hello')\n")
    (laptop_home / "src" / "app" / "m1.py").write_text("laptop version\n")
    (laptop_home / "src" / "app" / "m2.py").write_text("laptop version of m2\n")
    (home / "src" / "app" / "m2.py").write_text("home version of m2\n")
    preview = cli("--json", "return", "--sync-back", "--dry-run", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert preview.exit_code == 0, preview.stderr
    assert sorted(preview.json["sync_back"]["copy"]) == ["home/src/app/m1.py", "home/src/app/written-on-trip.py"]
    assert [c["path"] for c in preview.json["sync_back"]["conflicts"]] == ["home/src/app/m2.py"]
    assert not (home / "src" / "app" / "written-on-trip.py").exists()
    assert json.loads(state_file().read_text())["state"] == "finalized"
    done = cli("--json", "return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert done.exit_code in (0, 3), done.stderr
    assert (home / "src" / "app" / "written-on-trip.py").read_text() == "print('hello')\n"
    assert (home / "src" / "app" / "m1.py").read_text() == "laptop version\n"
    assert (home / "src" / "app" / "m2.py").read_text() == "home version of m2\n"
    assert held == [True, True]  # the basis snapshot was held against prune while compared
    beside = [p for p in (home / "src" / "app").iterdir() if p.name.startswith("m2.py.laptop-")]
    assert [p.read_text() for p in beside] == ["laptop version of m2\n"]
    assert done.json["state"] == "returned"


def test_journey_with_the_laptop_over_ssh(trip, cli, sshd_server):
    base, home, config, full, monday = trip
    remote_root = base / "remote-laptop"
    remote = write_config(base, home, laptop_host=f"{sshd_server.user}@{sshd_server.host}",
                          laptop_root=remote_root, ssh=sshd_server.ssh_config, name="remote.yaml")
    laptop_home = remote_root / home.relative_to("/")
    prepared = cli("--config", remote, "--json", "prepare", env={"TRAVELSYNC_NOW": PREPARE_AT})
    # a note to run the preflight on the laptop, not a warning: a successful prepare exits 0 (it was 3)
    assert prepared.exit_code == 0, prepared.stderr
    assert prepared.json["warnings"] == []
    assert any("run `travelsync preflight` on the laptop" in n for n in prepared.json["notes"])
    assert prepared.json["snapshot"] == full and laptop_equals(base, laptop_home, full)
    (laptop_home / "src" / "app" / "laptop-only.py").write_text("new on the laptop\n")
    latest, new_bytes = new_mail_and_nightly(home, config)
    finalized = cli("--config", remote, "--json", "finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    assert finalized.exit_code == 0, finalized.stderr  # the delta leaves laptop-only.py where it is
    data = finalized.json
    assert data["restore"]["method"] == "delta" and data["restore"]["displaced"] == []  # old mail copies tidied
    (laptop_home / "src" / "app" / "laptop-only.py").unlink()
    assert laptop_equals(base, laptop_home, latest)
    assert new_bytes <= data["bytes_transferred"] < 0.15 * prepared.json["bytes_transferred"]
    assert data["mail"][0]["mode"] == "keep" and f"127.0.0.1:{remote_root}/" in data["mail"][0]["file"]


def test_a_remote_laptop_is_logged_into_once_per_command(trip, cli, tmp_path):
    """The checks, rsync, the tidy and the mail check of a prepare or finalize ride one shared
    ssh connection (travelsync/shared_ssh.py): sshd logs one login per command, not one per step."""
    need_programs("/usr/sbin/sshd", "ssh")
    from tests.fixtures.sshd import start_sshd, stop_sshd

    server = start_sshd(tmp_path / "sshd-info", log_level="INFO")
    try:
        base, home, config, full, monday = trip
        remote_root = base / "counted-laptop"
        remote = write_config(base, home, laptop_host=f"{server.user}@{server.host}", laptop_root=remote_root,
                              ssh=server.ssh_config, name="counted.yaml")
        log = server.folder / "sshd.log"

        def logins() -> int:
            return log.read_text().count("Accepted publickey")

        prepared = cli("--config", remote, "--json", "prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT})
        assert prepared.exit_code == 0, prepared.stderr
        assert logins() == 1
        (remote_root / home.relative_to("/") / "src" / "app" / "laptop-only.py").write_text("kept aside\n")
        latest, _ = new_mail_and_nightly(home, config)
        time.sleep(6)  # past the master's ControlPersist: finalize must open its own
        finalized = cli("--config", remote, "--json", "finalize", "--skip-preflight",
                        env={"TRAVELSYNC_NOW": FINALIZE_AT})
        assert finalized.exit_code == 0, finalized.stderr  # the delta leaves the laptop-only file alone
        assert logins() == 2
        (remote_root / home.relative_to("/") / "src" / "app" / "laptop-only.py").unlink()
        assert laptop_equals(base, remote_root / home.relative_to("/"), latest)
        assert finalized.json["mail"][0]["mode"] == "keep" and finalized.json["restore"]["method"] == "delta"
    finally:
        stop_sshd(server)


# -- crash and resume --------------------------------------------------------------------------

def run_and_kill(argv, env, after: float) -> None:
    """Start `travelsync ARGS` in its own process group and SIGKILL the whole group after `after` s."""
    process = subprocess.Popen([sys.executable, "-m", "travelsync", *argv], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return
    pytest.fail(f"travelsync {' '.join(argv)} ended before the kill at {after:.2f} s; slow the transfer down")


def test_sigkill_during_prepare_and_finalize_then_resume(trip, cli_process):
    base, home, config, full, monday = trip
    slow = write_config(base, home, extra_args=["--bwlimit=300"], name="slow.yaml")
    env = {"TRAVELSYNC_CONFIG": str(slow), "HOME": str(home)}
    laptop_home = base / "laptop" / home.relative_to("/")
    moment = random.uniform(0.5, 1.0)
    print(f"prepare killed after {moment:.2f} s")
    run_and_kill(["prepare", "--skip-preflight"], {**env, "TRAVELSYNC_NOW": PREPARE_AT}, moment)
    resumed = cli_process("--json", "prepare", "--skip-preflight", env={**env, "TRAVELSYNC_NOW": PREPARE_AT})
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.json["snapshot"] == full and laptop_equals(base, laptop_home, full)
    assert resumed.json["restore"]["displaced"] == []  # rsync's leftovers are not reported as laptop files
    assert not (base / "laptop" / ".travelsync-displaced").exists()

    (laptop_home / "Mail" / "cur" / "draft-on-laptop").write_text("keep me\n")
    for number in range(40):
        write_mail(home, f"big-{number}.mail", size=8000, sub="new")
    latest = backup(config, "incremental", NIGHT_AT)
    moment = random.uniform(0.5, 0.9)
    print(f"finalize killed after {moment:.2f} s")
    run_and_kill(["finalize", "--skip-preflight"], {**env, "TRAVELSYNC_NOW": FINALIZE_AT}, moment)
    again = cli_process("--json", "finalize", "--skip-preflight", env={**env, "TRAVELSYNC_NOW": FINALIZE_AT})
    assert again.exit_code == 0, again.stderr
    assert again.json["restore"]["method"] == "delta" and again.json["restore"]["displaced"] == []
    (laptop_home / "Mail" / "cur" / "draft-on-laptop").unlink()  # the delta leaves the laptop's own draft
    assert again.json["snapshot"] == latest and laptop_equals(base, laptop_home, latest)
    assert json.loads(state_file().read_text())["state"] == "finalized"


def test_prepare_refuses_bad_path_and_unreachable_laptop_without_changing_anything(trip, cli):
    base, home, config, full, monday = trip
    rc_before = (home / ".fetchmailrc").read_bytes()
    bad = base / "bad.yaml"
    bad.write_text(config.read_text().replace("home/src", "home/NotInTheSnapshot"))
    result = cli("--config", bad, "prepare", "--skip-preflight")
    assert result.exit_code == ExitStatus.USAGE
    assert "not in snapshot" in result.stderr and "home/NotInTheSnapshot" in result.stderr
    from tests.integration.test_restore import closed_port

    away = write_config(base, home, laptop_host="me@127.0.0.1", laptop_root=base / "away",
                        ssh={"port": closed_port(), "options": ["-o", "ConnectTimeout=3"]}, name="away.yaml")
    result = cli("--config", away, "prepare", "--skip-preflight")
    assert result.exit_code == ExitStatus.TEMPORARY and "127.0.0.1" in result.stderr
    assert (home / ".fetchmailrc").read_bytes() == rc_before
    assert not state_file().exists() and not (base / "laptop").exists() and not (base / "away").exists()


def test_prepare_and_finalize_say_what_they_did_to_the_mail_clients(trip, cli):
    """prepare named no mail client it switched (and its --dry-run showed no diff, as trip.md
    promised); finalize did not say which laptop copies it checked."""
    base, home, config, full, monday = trip
    dry = cli("prepare", "--dry-run", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT})
    assert dry.exit_code == 0, dry.stderr
    rc = home / ".fetchmailrc"
    assert f"mail: fetchmail {rc}: would switch to keep on the server (now delete):" in dry.stdout
    assert any(line.startswith("  +") and "keep" in line for line in dry.stdout.splitlines()), dry.stdout
    assert "keep" not in rc.read_text()  # a dry run
    done = cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT})
    assert f"mail: fetchmail {rc}: switched to keep on the server (was delete)" in done.stdout, done.stdout
    new_mail_and_nightly(home, config)
    finalized = cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    laptop_rc = base / "laptop" / home.relative_to("/") / ".fetchmailrc"
    assert f"mail: laptop's fetchmail {laptop_rc} checked: keeps mail on the server" in finalized.stdout, \
        finalized.stdout


def _message(message_id: str, subject: str) -> bytes:
    return f"From: a@example.org\nSubject: {subject}\nMessage-ID: <{message_id}>\n\n{subject} body\n".encode()


def test_sync_back_merges_maildirs_by_message_and_names_laptop_deletions(trip, cli):
    """The laptop fetched the trip's mail (kept on the server), home fetched it again after
    the trip: copying the laptop's Maildir home duplicated every trip mail."""
    base, home, config, full, monday = trip
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    latest, _ = new_mail_and_nightly(home, config)
    assert cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT}).exit_code == 0
    laptop_mail = base / "laptop" / home.relative_to("/") / "Mail"
    mail = home / "Mail"
    # on the trip: the laptop fetches three mails, reads one it had, deletes one, writes a draft
    for number in range(3):
        (laptop_mail / "new" / f"1701000{number}.M{number}P9.laptop").write_bytes(_message(f"trip{number}@x", f"t{number}"))
    (laptop_mail / "new" / "trip-0.mail").rename(laptop_mail / "cur" / "trip-0.mail:2,S")
    (laptop_mail / "cur" / "3.mail").unlink()
    (laptop_mail / ".Drafts" / "cur").mkdir(parents=True)
    (laptop_mail / ".Drafts" / "cur" / "1701999.M9P9.laptop:2,D").write_bytes(_message("draft@x", "draft"))
    (laptop_mail / "tmp").mkdir(exist_ok=True)
    (laptop_mail / "tmp" / "1702000.M1P1.laptop").write_bytes(b"half delivered")
    # back home: home's fetchmail gets the same three from the server, under its own names
    for number in range(3):
        (mail / "new" / f"1702100{number}.M{number}P1.home").write_bytes(_message(f"trip{number}@x", f"t{number}"))
    before = sorted(p.name for p in (mail / "new").iterdir()) + sorted(p.name for p in (mail / "cur").iterdir())
    done = cli("return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert done.exit_code in (0, 3), done.stderr
    after = sorted(p.name for p in (mail / "new").iterdir()) + sorted(p.name for p in (mail / "cur").iterdir())
    assert after == before  # no trip mail twice, the read one not copied beside its unread self
    assert (mail / ".Drafts" / "cur" / "1701999.M9P9.laptop:2,D").read_bytes() == _message("draft@x", "draft")
    assert not (mail / "tmp" / "1702000.M1P1.laptop").exists()
    assert (mail / "cur" / "3.mail").exists()  # a laptop deletion is not carried home ...
    assert "home/Mail/cur/3.mail" in done.stdout  # ... and is named
    assert "trip-0.mail" not in done.stdout.split("not deleted at home")[-1]  # a read message is no deletion
    assert "4 mail messages the laptop has are already at home" in done.stdout, done.stdout


def test_sync_back_carries_home_a_draft_edited_on_the_laptop(trip, cli):
    """A message already in the basis and changed on the laptop (a draft edited) keeps its
    Maildir name: it was taken for one home already had and never came home."""
    base, home, config, full, monday = trip
    draft = home / "Mail" / ".Drafts" / "cur" / "1700000.M1P1.home:2,D"
    draft.parent.mkdir(parents=True)
    draft.write_bytes(_message("draft@x", "first words"))
    backup(config, "incremental", NIGHT_AT)
    assert cli("prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": PREPARE_AT}).exit_code == 0
    finalized = cli("finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": FINALIZE_AT})
    # the nightly ran before prepare switched fetchmail to keep: finalize warns, as it should
    assert finalized.exit_code == ExitStatus.WARNINGS and "'delete' mode" in finalized.stdout
    on_laptop = base / "laptop" / draft.relative_to("/")
    assert on_laptop.read_bytes() == _message("draft@x", "first words")
    on_laptop.write_bytes(_message("draft@x", "first words, and the rest written on the trip"))
    done = cli("--json", "return", "--sync-back", env={"TRAVELSYNC_NOW": RETURN_AT})
    assert done.exit_code == 0, done.stdout + done.stderr
    assert draft.read_bytes() == _message("draft@x", "first words, and the rest written on the trip")
    assert "home/Mail/.Drafts/cur/1700000.M1P1.home:2,D" in done.json["sync_back"]["copy"]
