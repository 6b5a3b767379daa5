"""restore/places.sweep on a folder reached over a real sshd: the listing, then the names to
delete, in one session; odd names survive the trip both ways."""

from pathlib import Path

import pytest

from travelsync.config.model import SshConfig
from travelsync.location import Location
from travelsync.restore.places import sweep

pytestmark = pytest.mark.integration

ODD = "home/marc/Mail/cur/1 to 2\nthree -x"


def remote(server, path: Path) -> tuple[Location, SshConfig]:
    settings = SshConfig(port=server.port, identity=server.identity,
                         options=("-o", f"UserKnownHostsFile={server.known_hosts}"))
    return Location(str(path), server.host, server.user), settings


def test_one_session_lists_then_deletes_what_was_decided(sshd_server, tmp_path):
    folder = tmp_path / "laptop" / ".travelsync-displaced" / "20261124T070000Z"
    for name in (ODD, "home/marc/src/m1.py", "home/marc/keep.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x" * len(name))
    location, settings = remote(sshd_server, folder)
    found = sweep(location, lambda found: [n for n in found if n != "home/marc/keep.txt"], settings)
    assert set(found) == {ODD, "home/marc/src/m1.py", "home/marc/keep.txt"}
    assert found[ODD][0] == len(ODD) and found[ODD][1] == int((folder / "home/marc/keep.txt").stat().st_mtime)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == ["home/marc/keep.txt"]
    assert not (folder / "home/marc/src").exists() and not (folder / "home/marc/Mail").exists()


def test_when_nothing_is_left_the_folder_of_displaced_folders_goes_too(sshd_server, tmp_path):
    folder = tmp_path / "laptop" / ".travelsync-displaced" / "20261124T070000Z"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b").write_text("b")
    location, settings = remote(sshd_server, folder)
    assert set(sweep(location, sorted, settings)) == {"a/b"}
    assert not (tmp_path / "laptop" / ".travelsync-displaced").exists() and (tmp_path / "laptop").is_dir()


def test_an_absent_folder_lists_nothing_and_asks_nothing(sshd_server, tmp_path):
    asked = []
    location, settings = remote(sshd_server, tmp_path / "absent")
    assert sweep(location, asked.append, settings) == {} and asked == []


def test_a_laptop_that_stops_answering_midway_is_given_up_on(tmp_path, monkeypatch):
    """An ssh that never ends (a laptop gone mid-session): the watchdog ends the session and the
    restore says to run it again (exit 75), instead of hanging."""
    import travelsync.restore.places as places
    from travelsync.errors import TemporaryError

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ssh").write_text('#!/bin/sh\ncase "$*" in *" -O "*|*" -N "*) exit 255;; esac\nexec sleep 60\n')
    (fake / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setattr(places, "SWEEP_TIMEOUT", 1.0)
    with pytest.raises(TemporaryError, match="no answer within 1 s"):
        sweep(Location(str(tmp_path / "displaced"), "laptop.invalid", "marc"), sorted, SshConfig())
