"""Two replayed weeks, as a user lives them (issue 16): home owned by the user running
travelsync (fetchmail checks only its owner's file), the laptop a real sshd login as another user, real rsync and fetchmail files. Nightly backups; a code
change that went wrong, undone from yesterday's snapshot in place; prepare, new mail, the
nightly incremental, finalize; on the trip the laptop edits code and fetches mail that stays
on the server; home fetches it too; return --sync-back. At the end home holds each message
once, every file still belongs to home's user, and nothing is lost."""

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.integration.test_restore import build_home, write_config
from tests.integration.test_sync_back_owner import chown_tree, laptop_over_ssh, owners, users  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SUNDAY = datetime.fromisoformat("2026-11-22T02:30:00+00:00")


def at(day: int, hour: int = 2, minute: int = 30) -> dict:
    return {"TRAVELSYNC_NOW": (SUNDAY + timedelta(days=day)).replace(hour=hour, minute=minute).isoformat()}


def message(message_id: str, body: str) -> bytes:
    return f"From: x@example.org\nMessage-ID: <{message_id}>\nSubject: {body}\n\n{body}\n".encode()


def deliver(maildir: Path, name: str, message_id: str, owner=None) -> Path:
    path = maildir / "new" / name
    path.write_bytes(message(message_id, f"mail {message_id}"))
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def test_two_weeks_with_a_laptop_over_ssh_as_another_user(users, tmp_path, cli, monkeypatch):  # noqa: F811
    need_programs("rsync", "fetchmail")
    _, laptop_user = users
    import pwd

    home_user = pwd.getpwuid(os.getuid())  # home is the running user's, the laptop's user another
    home = build_home(tmp_path, mails=5)
    code = home / "src" / "app" / "m1.py"
    monkeypatch.setenv("HOME", str(home))
    with laptop_over_ssh(laptop_user) as (sshd, laptop_root):
        config = write_config(tmp_path, home, laptop_host=f"{laptop_user.pw_name}@127.0.0.1", laptop_root=laptop_root,
                              ssh=sshd.ssh_config)

        def run(*args, day, hour=2, minute=30, codes=(0,)):
            done = cli("--config", config, "--json", *args, env=at(day, hour, minute))
            assert done.exit_code in codes, (args, day, done.stderr)
            return done

        versions = {}
        for day in range(7):  # week one: a full on Sunday, incrementals every night
            deliver(home / "Mail", f"home-{day}.mail", f"week1-{day}@x", home_user)
            code.write_text(f"version of day {day}\n" * (day + 1))
            versions[day] = code.read_text()
            run("backup", "--auto", day=day)
        code.write_text("a change that went the wrong way\n")  # day 7, morning
        undone = run("restore", "--from", "yesterday", "--path", "home/src/app/m1.py", "--in-place", day=7, hour=9,
                     codes=(3,))  # 3: a file was kept beside
        assert code.read_text() == versions[6] and len(undone.json["displaced"]) == 1
        assert Path(undone.json["displaced"][0]).read_text() == "a change that went the wrong way\n"
        Path(undone.json["displaced"][0]).unlink()  # the user looked at it and threw it away
        os.chown(code, home_user.pw_uid, home_user.pw_gid)  # as the user's own restore would leave it

        full = run("backup", "--auto", day=7, hour=10).json["snapshot"]  # week two: Sunday's full
        assert full.endswith("-full")
        prepared = run("prepare", day=8, hour=18)
        assert prepared.json["snapshot"] == full
        deliver(home / "Mail", "evening.mail", "evening@x", home_user)
        nightly = run("backup", "--auto", day=9).json["snapshot"]
        finalized = run("finalize", "--skip-preflight", day=9, hour=7, codes=(0, 3))
        assert finalized.json["snapshot"] == nightly
        assert [m["mode"] for m in finalized.json["mail"]] == ["keep"]

        laptop_home = laptop_root / home.relative_to("/")
        (laptop_home / "src" / "app" / "m3.py").write_text("edited on the trip\n")
        trip_mail = [f"trip-{n}@x" for n in range(4)]
        for number, message_id in enumerate(trip_mail):  # the laptop fetches; the server keeps them
            deliver(laptop_home / "Mail", f"17020{number}.M{number}P7.laptop", message_id)
        (laptop_home / "Mail" / "new" / "170200.M0P7.laptop").rename(laptop_home / "Mail" / "cur" /
                                                                      "170200.M0P7.laptop:2,S")
        chown_tree(laptop_root, laptop_user)
        for number, message_id in enumerate(trip_mail):  # home fetches the same mail after the trip
            deliver(home / "Mail", f"17030{number}.M{number}P1.home", message_id, home_user)
        for day in range(10, 14):
            deliver(home / "Mail", f"home-{day}.mail", f"week2-{day}@x", home_user)
            run("backup", "--auto", day=day)

        before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in home.rglob("*") if p.is_file()}
        returned = run("return", "--sync-back", day=14, hour=20, codes=(0, 3))
        assert returned.json["state"] == "returned"
        messages = [p for sub in ("cur", "new") for p in (home / "Mail" / sub).iterdir()]
        ids = [p.read_bytes().split(b"\n\n")[0] for p in messages]
        assert len(ids) == len(set(ids)), "a message is twice in home's Maildir"
        assert (home / "src" / "app" / "m3.py").read_text() == "edited on the trip\n"
        lost = [str(p) for p in before if not p.exists() and p.name != ".fetchmailrc"]
        assert not lost
        wrong = {name: ids for name, ids in owners(home).items() if ids != (home_user.pw_uid, home_user.pw_gid)}
        assert wrong == {}, wrong
        assert "keep" not in (home / ".fetchmailrc").read_text()
