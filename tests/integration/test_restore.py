"""`travelsync restore` with real rsync: selected paths only, displaced files, clear refusals."""

import hashlib
import os
import socket
from pathlib import Path

import pytest
import yaml

from tests.conftest import need_programs
from travelsync.exitcodes import ExitStatus

pytestmark = pytest.mark.integration


# -- helpers shared with test_trip.py --------------------------------------------------------

def write_mail(home: Path, name: str, size: int = 4000, sub: str = "cur") -> Path:
    path = home / "Mail" / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"Subject: " + name.encode() + b"\n\n" + hashlib.sha256(name.encode()).hexdigest().encode() * (size // 64))
    return path


def build_home(base: Path, mails: int = 60) -> Path:
    home = base / "home" / "marc"
    for number in range(mails):
        write_mail(home, f"{number}.mail")
    (home / "Mail" / "new").mkdir(parents=True, exist_ok=True)
    for number in range(15):
        (home / "src" / "app").mkdir(parents=True, exist_ok=True)
        (home / "src" / "app" / f"m{number}.py").write_text(f"x = {number}\n" * 200)
    (home / "Other").mkdir()
    (home / "Other" / "not-selected.txt").write_text("home only\n")
    (home / ".fetchmailrc").write_text("poll pop.example.org protocol pop3\n  user marc password secret\n")
    (home / ".fetchmailrc").chmod(0o600)
    return home


def write_config(base: Path, home: Path, *, laptop_host="local", laptop_root=None, ssh=None, extra_args=(),
                 name="config.yaml", mailer=True) -> Path:
    document = {
        "repository": str(base / "repository"),
        "sources": [{"name": "home", "path": str(home), "exclude": [".cache/"]}],
        "laptop": {"host": laptop_host, "root": str(laptop_root or base / "laptop"),
                   "paths": ["home/Mail", "home/src", "home/.fetchmailrc"]},
        "rsync": {"retries": 0, "extra_args": list(extra_args)},
    }
    if mailer:
        document["mailer"] = [{"kind": "fetchmail", "file": str(home / ".fetchmailrc")}]
    if ssh:
        document["ssh"] = ssh
    path = base / name
    path.write_text(yaml.safe_dump(document))
    return path


def backup(config_path: Path, kind: str, when: str) -> str:
    """A real snapshot with the backup engine, at the simulated instant `when`."""
    from travelsync.backup.engine import run_backup
    from travelsync.config import load_config

    report = run_backup(load_config(config_path), kind=kind, environ={**os.environ, "TRAVELSYNC_NOW": when})
    assert report.status == "complete"
    return report.snapshot


def tree(path: Path) -> dict:
    """Every entry under `path` (or the file itself): relative name → (kind, mode, sha256)."""
    path = Path(path)
    if path.is_file():
        return {".": ("f", path.stat().st_mode & 0o7777, hashlib.sha256(path.read_bytes()).hexdigest())}
    found = {}
    for folder, dirs, files in os.walk(path):
        for name in dirs:
            found[os.path.relpath(Path(folder, name), path)] = ("d", Path(folder, name).stat().st_mode & 0o7777, "")
        for name in files:
            full = Path(folder, name)
            found[os.path.relpath(full, path)] = ("f", full.stat().st_mode & 0o7777,
                                                 hashlib.sha256(full.read_bytes()).hexdigest())
    return found


def snapshot_data(base: Path, snapshot: str) -> Path:
    return base / "repository" / "snapshots" / snapshot / "data" / "home"


def laptop_equals(base: Path, laptop_home: Path, snapshot: str, paths=("Mail", "src", ".fetchmailrc")) -> bool:
    data = snapshot_data(base, snapshot)
    return all(tree(data / p) == tree(laptop_home / p) for p in paths)


def stat_outside(root: Path, inside) -> dict:
    """Content and mtime of everything under `root` except the restored paths and the displaced folder."""
    skip = [Path(p) for p in inside]
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in files:
            full = Path(folder, name)
            if any(s == full or s in full.parents for s in skip) or ".travelsync-displaced" in full.parts:
                continue
            result[str(full)] = (full.read_bytes(), full.stat().st_mtime_ns)
    return result


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(tmp_path, monkeypatch):
    need_programs("rsync")
    home = build_home(tmp_path)
    config = write_config(tmp_path, home)
    monkeypatch.setenv("TRAVELSYNC_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(home))
    full = backup(config, "full", "2026-11-22T02:30:00+00:00")
    return tmp_path, home, config, full


# -- the tests -------------------------------------------------------------------------------

def test_restore_selected_path_to_dir_touches_nothing_else(world, cli):
    base, home, config, full = world
    target = base / "elsewhere"
    neighbour = target / home.relative_to("/") / "Other" / "laptop-only.txt"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_text("mine\n")
    (target / "top.txt").write_text("top\n")
    (home / "Mail" / "cur" / "0.mail").write_text("changed at home after the backup")
    before = stat_outside(target, [target / home.relative_to("/") / "Mail"])
    result = cli("--json", "restore", "--from", "last-full", "--path", "home/Mail", "--root", target)
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["snapshot"] == full and data["paths"] == ["home/Mail"] and data["displaced"] == []
    assert data["files_transferred"] == 60 and data["bytes_transferred"] >= 60 * 3900
    assert {"snapshot", "files_transferred", "bytes_transferred", "seconds", "warnings"} <= set(data)
    laptop_home = target / home.relative_to("/")
    assert tree(laptop_home / "Mail") == tree(snapshot_data(base, full) / "Mail")
    assert not (laptop_home / "src").exists()
    assert stat_outside(target, [laptop_home / "Mail"]) == before


def test_laptop_files_that_would_be_lost_are_moved_aside_and_listed(world, cli):
    base, home, config, full = world
    laptop_home = base / "laptop" / home.relative_to("/")
    assert cli("restore", "--from", full).exit_code == 0
    (laptop_home / "Mail" / "cur" / "written-on-laptop").write_text("only here\n")
    (laptop_home / "Mail" / "cur" / "1.mail").write_text("edited on the laptop\n")
    (laptop_home / "src" / "app" / "m3.py").unlink()
    result = cli("--json", "restore", "--from", full)
    assert result.exit_code == ExitStatus.WARNINGS, result.stderr
    data = result.json
    folder = Path(data["displaced_folder"])
    assert folder.parent == base / "laptop" / ".travelsync-displaced"
    inside = str(home.relative_to("/"))
    assert sorted(data["displaced"]) == [f"{inside}/Mail/cur/1.mail", f"{inside}/Mail/cur/written-on-laptop"]
    assert (folder / inside / "Mail" / "cur" / "written-on-laptop").read_text() == "only here\n"
    assert (folder / inside / "Mail" / "cur" / "1.mail").read_text() == "edited on the laptop\n"
    assert "moved aside" in data["warnings"][0]
    assert laptop_equals(base, laptop_home, full)


def test_dry_run_lists_changes_and_writes_nothing(world, cli):
    base, home, config, full = world
    result = cli("--json", "restore", "--path", "home/src", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.json["dry_run"] and result.json["change_count"] >= 15
    assert any(c.endswith("src/app/m0.py") for c in result.json["changes"])
    assert not (base / "laptop" / "home").exists() and not (base / "laptop" / ".travelsync-displaced").exists()


@pytest.mark.parametrize("path, words", [("home/NoSuchFolder", "not in snapshot"), ("home/../etc", "'..'"),
                                         ("/etc/passwd", "absolute"), ("work/Mail", "source name")])
def test_bad_paths_exit_2_and_change_nothing(world, cli, path, words):
    base, home, config, full = world
    result = cli("restore", "--path", "home/Mail", "--path", path)
    assert result.exit_code == ExitStatus.USAGE
    assert words in result.stderr and result.stderr.count("\n") <= 2
    assert not (base / "laptop").exists()


def test_unknown_snapshot_exits_2(world, cli):
    result = cli("restore", "--from", "20200101T000000Z-full")
    assert result.exit_code == ExitStatus.USAGE and "20200101T000000Z-full" in result.stderr


def test_unreachable_laptop_exits_75_and_changes_nothing(world, cli, tmp_path):
    base, home, config, full = world
    need_programs("ssh")
    port = closed_port()
    remote = write_config(base, home, laptop_host="me@127.0.0.1", laptop_root=base / "remote-laptop",
                          ssh={"port": port, "options": ["-o", "ConnectTimeout=3"]}, name="remote.yaml")
    result = cli("--config", remote, "restore")
    assert result.exit_code == ExitStatus.TEMPORARY, result.stderr
    assert "127.0.0.1" in result.stderr and "reach" in result.stderr
    assert not (base / "remote-laptop").exists()


def test_restore_from_latest_refuses_when_latest_is_damaged(tmp_path, cli):
    """`latest` names a snapshot whose snapshot.json is damaged: restore says so and restores
    nothing, rather than quietly restoring an older snapshot."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=3)
    config = write_config(tmp_path, home, mailer=False)
    older = backup(config, "full", "2026-11-22T02:30:00+00:00")
    (home / "Mail" / "cur" / "new-one.mail").write_text("Subject: new\n\nhello\n")
    newest = backup(config, "incremental", "2026-11-23T02:30:00+00:00")
    (tmp_path / "repository" / "snapshots" / newest / "snapshot.json").write_text("{ not json")
    result = cli("--config", config, "restore", "--from", "latest", "--path", "home/Mail")
    assert result.exit_code == ExitStatus.FAILURE, result.stderr
    assert f"`latest` names {newest}" in result.stderr and older in result.stderr
    assert not (tmp_path / "laptop").exists()
    named = cli("--config", config, "restore", "--from", older, "--path", "home/Mail")
    assert named.exit_code == 0, named.stderr


def test_on_the_home_machine_a_laptop_root_of_slash_does_not_overwrite_the_live_home(cli, tmp_path):
    """The starter config's `laptop: {host: local, root: /}` on the home machine made restore and
    prepare copy the last full over the live home. Refused (2), nothing written, unless --to
    names the target; on another host (the laptop) the same config restores as before."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=5)
    config = write_config(tmp_path, home, laptop_root="/")
    document = yaml.safe_load(config.read_text())
    document["laptop"]["displaced"] = str(tmp_path / "displaced")  # never under the real /
    config.write_text(yaml.safe_dump(document))
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    edited = home / "src" / "app" / "m1.py"
    edited.write_text("edited at home after the backup\n")
    before = tree(home)
    for args in (("restore",), ("prepare", "--skip-preflight")):
        refused = cli("--config", config, *args)
        assert refused.exit_code == ExitStatus.USAGE, (args, refused.stderr)
        assert "would overwrite the live home" in refused.stderr and str(home) in refused.stderr
        assert tree(home) == before
    explicit = cli("--config", config, "--json", "restore", "--path", "home/src", "--root", "/")
    assert explicit.exit_code == 3, explicit.stderr  # a warning: the live home's changed files are moved aside
    assert edited.read_text() != "edited at home after the backup\n"  # restored, as asked ...
    kept = list((tmp_path / "displaced").rglob("m1.py"))
    assert kept and kept[0].read_text() == "edited at home after the backup\n"  # ... the edit moved aside


def test_on_another_host_the_same_laptop_root_restores(cli, tmp_path, monkeypatch):
    need_programs("rsync")
    home = build_home(tmp_path, mails=5)
    config = write_config(tmp_path, home, laptop_root="/")
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    (home / "src" / "app" / "m1.py").unlink()
    monkeypatch.setattr(socket, "gethostname", lambda: "the-laptop")
    done = cli("--config", config, "restore", "--path", "home/src")
    assert done.exit_code == 0, done.stderr
    assert (home / "src" / "app" / "m1.py").exists()


def test_restore_from_a_day_a_time_or_an_age(cli, tmp_path):
    """`--from yesterday`, a date, a date-time and an age pick the snapshot people mean (in
    schedule.timezone), name it, and restore that day's version; a day without one is refused."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=3)
    config = write_config(tmp_path, home)
    document = yaml.safe_load(config.read_text())
    document["schedule"] = {"timezone": "Europe/Berlin"}
    config.write_text(yaml.safe_dump(document))
    code = home / "src" / "app" / "m1.py"
    ids = {}
    for day, when in (("22", "2026-11-22T01:30:00+00:00"), ("23", "2026-11-23T01:30:00+00:00"),
                      ("24", "2026-11-24T23:30:00+00:00")):  # the last is 25 November in Berlin
        code.write_text(f"version of the {day}th\n" * int(day))  # a new size: rsync's quick check sees it
        ids[day] = backup(config, "full" if day == "22" else "incremental", when)
    now = {"TRAVELSYNC_NOW": "2026-11-26T12:00:00+01:00"}
    for said, day in (("yesterday", "24"), ("2026-11-23", "23"), ("2026-11-25", "24"), ("2026-11-23T01:00", "22"),
                      ("2d", "23"), ("1w", None), ("latest", "24")):  # 2d: started by 24 November 12:00
        target = tmp_path / f"out-{said}"
        done = cli("--config", config, "--json", "restore", "--from", said, "--path", "home/src/app/m1.py",
                   "--root", target, env=now)
        if day is None:
            assert done.exit_code == ExitStatus.USAGE and "no snapshot is 1w old or older" in done.stderr
            assert ids["22"] in done.stderr  # the nearest is named
            continue
        assert done.exit_code == 0, (said, done.stderr)
        assert done.json["snapshot"] == ids[day], said
        restored = target / home.relative_to("/") / "src" / "app" / "m1.py"
        expected_day = {"22": "22", "23": "23", "24": "24"}[day]
        assert restored.read_text() == f"version of the {expected_day}th\n" * int(expected_day), said
        if said != "latest":
            assert f"from {ids[day]} (the newest" in done.stderr, done.stderr
    refused = cli("--config", config, "restore", "--from", "2026-11-24", "--root", tmp_path / "x", env=now)
    assert refused.exit_code == ExitStatus.USAGE
    assert "no snapshot was started on 2026-11-24 (Europe/Berlin)" in refused.stderr
    assert ids["23"] in refused.stderr and ids["24"] in refused.stderr  # the nearest on each side


def test_to_a_plain_folder_puts_each_path_under_its_own_name(cli, tmp_path):
    """`--to DIR` puts x.py in DIR (it recreated the absolute path); a folder keeps its name,
    a whole source lands as DIR/<source name>; two paths of one name are refused."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=3)
    config = write_config(tmp_path, home)
    (home / "Other" / "m1.py").write_text("another m1\n")
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    target = tmp_path / "plain"
    target.mkdir()
    (target / "m1.py").write_text("a file of mine\n")
    done = cli("--config", config, "--json", "restore", "--path", "home/src/app/m1.py", "--path", "home/Mail",
               "--to", target)
    assert done.exit_code == 3, done.stderr  # a warning: my m1.py there is moved aside
    assert (target / "m1.py").read_text() == (home / "src" / "app" / "m1.py").read_text()
    assert tree(target / "Mail") == tree(home / "Mail")
    assert sorted(p.name for p in target.iterdir()) == [".travelsync-displaced", "Mail", "m1.py"]
    kept = list((target / ".travelsync-displaced").rglob("m1.py"))  # mine was moved aside, not lost
    assert [k.read_text() for k in kept] == ["a file of mine\n"]
    whole = cli("--config", config, "restore", "--path", "home", "--to", tmp_path / "whole")
    assert whole.exit_code == 0, whole.stderr
    assert tree(tmp_path / "whole" / "home") == tree(home)
    clash = cli("--config", config, "restore", "--path", "home/src/app/m1.py", "--path", "home/Other/m1.py",
                "--to", tmp_path / "clash")
    assert clash.exit_code == ExitStatus.USAGE and "would both land at m1.py" in clash.stderr
    assert not (tmp_path / "clash").exists()


def test_in_place_puts_one_file_back_and_keeps_the_current_one_beside_it(cli, tmp_path):
    need_programs("rsync")
    home = build_home(tmp_path, mails=3)
    config = write_config(tmp_path, home)
    code = home / "src" / "app" / "m1.py"
    original = code.read_text()
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    code.write_text("a change that went the wrong way\n")
    (home / "src" / "app" / "m2.py").write_text("another change, not asked for\n")
    done = cli("--config", config, "--json", "restore", "--from", "2026-11-22", "--path", "home/src/app/m1.py",
               "--in-place", env={"TRAVELSYNC_NOW": "2026-11-23T09:00:00+00:00"})
    assert done.exit_code == 3, done.stderr  # a warning: the current m1.py is kept beside itself
    assert code.read_text() == original
    beside = code.with_name("m1.py.travelsync-20261123T090000Z")
    assert beside.read_text() == "a change that went the wrong way\n"
    assert done.json["displaced"] == [str(beside)]
    assert (home / "src" / "app" / "m2.py").read_text() == "another change, not asked for\n"  # only the path asked
    both = cli("--config", config, "restore", "--path", "home/src", "--in-place", "--to", tmp_path / "x")
    assert both.exit_code == ExitStatus.USAGE and "give one" in both.stderr


def test_a_path_whose_name_is_not_utf8_restores(cli, tmp_path):
    """`restore --path home/caf\\xe9.txt` (a Latin-1 name) ended in 'internal error: … UnicodeEncodeError'."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=2)
    name = b"caf\xe9.txt"
    with open(os.path.join(os.fsencode(home), name), "wb") as handle:
        handle.write(b"a name from another decade")
    config = write_config(tmp_path, home)
    backup(config, "full", "2026-11-22T02:30:00+00:00")
    done = cli("--config", config, "--json", "restore", "--path", "home/" + os.fsdecode(name), "--to", tmp_path / "out")
    assert done.exit_code == 0, done.stderr
    assert open(os.path.join(os.fsencode(tmp_path / "out"), name), "rb").read() == b"a name from another decade"
