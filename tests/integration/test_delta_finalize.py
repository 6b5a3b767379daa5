"""finalize sends only the snapshots' change lists (issue 20): after a full and five
incrementals of every kind of change, the laptop ends exactly as a whole-tree finalize leaves
it, with the same files displaced; a missing or damaged list falls back to the whole tree with
a note; a SIGKILL midway resumes; a laptop over ssh gets the same. Real rsync, real sshd."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.integration.test_restore import build_home, laptop_equals, write_config, write_mail
from tests.integration.test_trip import run_and_kill
from travelsync.exitcodes import ExitStatus

pytestmark = pytest.mark.integration

DAY = 86400
EPOCH = 1795000000  # 2026-11-20: file times as if each round were a day apart
PATHS = ("Mail", "src", ".fetchmailrc")


def at(day: int) -> str:
    return f"2026-11-{22 + day:02d}T02:30:00+00:00"


class Home:
    """A home whose changes of each round get that round's day as their time, as nightly
    backups see them (rsync compares times; a test's rounds are milliseconds apart)."""

    def __init__(self, base: Path):
        self.path = build_home(base, mails=30)
        (self.path / "src" / "was-folder" / "deep").mkdir(parents=True)  # on the laptop since prepare
        (self.path / "src" / "was-folder" / "deep" / "f").write_text("a folder that becomes a file\n")
        self.mark = 0
        self.settle(0)

    def settle(self, day: int) -> None:
        when = EPOCH + day * DAY
        for folder, dirs, files in os.walk(self.path):
            for name in dirs + files:
                full = os.path.join(folder, name)
                if os.lstat(full).st_mtime_ns >= self.mark:
                    os.utime(full, (when, when), follow_symlinks=False)
        if os.lstat(self.path).st_mtime_ns >= self.mark:
            os.utime(self.path, (when, when))
        self.mark = time.time_ns()


def backup_at(config: Path, kind: str, day: int) -> str:
    from travelsync.backup.engine import run_backup
    from travelsync.config import load_config

    report = run_backup(load_config(config), kind=kind, environ={**os.environ, "TRAVELSYNC_NOW": at(day)})
    assert report.status == "complete"
    return report.snapshot


def change_rounds(home: Home, config: Path) -> list[str]:
    """Five incrementals: adds, edits, deletes, renames, mode and time changes, folder
    deletions, hard links, symlinks, awkward names."""
    src, mail = home.path / "src", home.path / "Mail"
    taken = []

    def round_(day, change):
        change()
        home.settle(day)
        taken.append(backup_at(config, "incremental", day))

    def one():
        (src / "new" / "deep").mkdir(parents=True)
        (src / "new" / "a.py").write_text("print('a')\n")
        (src / "new" / "deep" / "b.txt").write_text("b\n")
        os.symlink("app/m1.py", src / "link")
        os.link(src / "app" / "m2.py", src / "app" / "m2-hard.py")
        (src / os.fsdecode(b"caf\xe9.txt")).write_text("not utf-8\n")
        (src / "odd\nname").write_text("a newline in the name\n")
        (src / "flip").mkdir()
        (src / "flip" / "inside").write_text("a folder that becomes a file\n")
        (src / "flop").write_text("a file that becomes a folder\n")
        write_mail(home.path, "day1.mail", sub="new")

    def two():
        (src / "app" / "m3.py").write_text("y = 3\n" * 200)  # same size as before, other bytes
        (src / "app" / "m4.py").chmod(0o600)
        (src / "app" / "m6.py").unlink()
        (mail / "new" / "day1.mail").rename(mail / "cur" / "day1.mail:2,S")
        (src / "link").unlink()
        os.symlink("app/m7.py", src / "link")
        shutil.rmtree(src / "was-folder")
        (src / "was-folder").write_text("now a file\n")

    def three():
        shutil.rmtree(src / "new")
        (src / "new2").mkdir()
        (src / "new2" / "file").write_text("new2\n")
        with open(src / "app" / "m2.py", "a") as handle:  # both names of the hard link change
            handle.write("# more\n")
        os.link(src / "app" / "m8.py", src / "m8-hard.py")
        shutil.rmtree(src / "flip")
        (src / "flip").write_text("now a file\n")
        (mail / "cur" / "3.mail").unlink()

    def four():
        (src / "new2").rename(src / "renamed")
        (src / "link").unlink()
        (src / "empty").mkdir()
        (src / "flop").unlink()
        (src / "flop" / "inner").mkdir(parents=True)
        (src / "flop" / "inner" / "x").write_text("now a folder\n")
        write_mail(home.path, "day4.mail", sub="new")

    def five():
        (src / "empty").rmdir()
        (src / "renamed").chmod(0o700)
        (src / os.fsdecode(b"caf\xe9.txt")).unlink()
        write_mail(home.path, "day5.mail")

    for day, change in enumerate((one, two, three, four, five), start=1):
        round_(day, change)
    os.utime(src / "app" / "m5.py", (EPOCH + 99, EPOCH + 99))  # a change of time alone
    home.settle(6)
    os.utime(src / "app" / "m5.py", (EPOCH + 99, EPOCH + 99))
    taken.append(backup_at(config, "incremental", 6))
    return taken


@pytest.fixture
def chain(tmp_path, monkeypatch):
    """Home, a full on day 0, and two laptops prepared from it (their own trip states)."""
    need_programs("rsync", "sort", "comm", "find")
    home = Home(tmp_path)
    monkeypatch.setenv("HOME", str(home.path))
    configs = {name: write_config(tmp_path, home.path, laptop_root=tmp_path / name, name=f"{name}.yaml",
                                  mailer=False) for name in ("delta", "whole")}
    full = backup_at(configs["delta"], "full", 0)
    return tmp_path, home, configs, full


def trip_env(base: Path, name: str, day: float) -> dict:
    return {"XDG_STATE_HOME": str(base / f"state-{name}"), "TRAVELSYNC_NOW": f"2026-11-{22 + int(day):02d}T18:00:00+00:00"}


def prepare_both(cli, base, configs, home) -> None:
    for name, config in configs.items():
        done = cli("--config", config, "--json", "prepare", "--skip-preflight", env=trip_env(base, name, 0))
        assert done.exit_code == 0, done.stderr
        laptop = base / name / home.path.relative_to("/")
        (laptop / "src" / "app" / "m3.py").write_text("edited on the laptop\n")  # home edits it too
        (laptop / "src" / "app" / "m6.py").write_text("edited on the laptop, deleted at home\n")


def same_laptops(left: Path, right: Path) -> list[str]:
    """What `rsync -aniH --delete` would change to make `right` like `left` (nothing: the same)."""
    out = []
    for name in PATHS:
        source = left / name
        argv = ["rsync", "-aniH", "--delete", f"{source}/" if source.is_dir() else str(source),
                f"{right / name}/" if source.is_dir() else str(right / name)]
        out += subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
    return out


def test_a_delta_finalize_leaves_the_laptop_as_the_whole_tree_does(chain, cli):
    base, home, configs, full = chain
    prepare_both(cli, base, configs, home)
    taken = change_rounds(home, configs["delta"])
    finalize = {name: cli("--config", configs[name], "--json", "finalize", "--skip-preflight",
                          *(["--full"] if name == "whole" else []), env=trip_env(base, name, 7))
                for name in configs}
    for name, done in finalize.items():
        assert done.exit_code == ExitStatus.WARNINGS, done.stderr  # laptop files displaced
        assert done.json["snapshot"] == taken[-1]
    delta, whole = finalize["delta"].json, finalize["whole"].json
    assert delta["restore"]["method"] == "delta" and whole["restore"]["method"] == "whole"
    assert whole["notes"] == ["the whole tree was compared (--full)"]
    laptops = {name: base / name / home.path.relative_to("/") for name in configs}
    assert same_laptops(laptops["whole"], laptops["delta"]) == []
    assert laptop_equals(base, laptops["delta"], taken[-1], paths=PATHS)
    assert os.stat(laptops["delta"] / "src" / "app" / "m2.py").st_ino == \
        os.stat(laptops["delta"] / "src" / "app" / "m2-hard.py").st_ino  # the hard link kept
    inside = str(home.path.relative_to("/"))
    expected = [f"{inside}/src/app/m3.py", f"{inside}/src/app/m6.py"]
    assert delta["restore"]["displaced"] == whole["restore"]["displaced"] == expected


def test_the_delta_leaves_laptop_edits_of_files_home_did_not_change(chain, cli):
    """What the delta does not look at (docs/trip.md): --full puts the snapshot's copy back."""
    base, home, configs, full = chain
    prepare_both(cli, base, configs, home)
    for name in configs:
        (base / name / home.path.relative_to("/") / "src" / "app" / "m9.py").write_text("laptop only\n")
    (home.path / "src" / "app" / "m1.py").write_text("home\n")
    home.settle(1)
    backup_at(configs["delta"], "incremental", 1)
    delta = cli("--config", configs["delta"], "--json", "finalize", "--skip-preflight", env=trip_env(base, "delta", 2))
    whole = cli("--config", configs["whole"], "--json", "finalize", "--skip-preflight", "--full",
                env=trip_env(base, "whole", 2))
    inside = str(home.path.relative_to("/"))
    assert delta.exit_code == 0 and whole.exit_code == ExitStatus.WARNINGS, delta.stderr + whole.stderr
    assert (base / "delta" / inside / "src" / "app" / "m9.py").read_text() == "laptop only\n"
    assert (base / "delta" / inside / "src" / "app" / "m3.py").read_text() == "edited on the laptop\n"
    assert (base / "delta" / inside / "src" / "app" / "m1.py").read_text() == "home\n"
    assert delta.json["restore"]["displaced"] == []
    assert whole.json["restore"]["displaced"] == [f"{inside}/src/app/m3.py", f"{inside}/src/app/m6.py",
                                                  f"{inside}/src/app/m9.py"]


@pytest.mark.parametrize("damage", ["missing", "corrupt", "cut off", "snapshot gone"])
def test_a_missing_or_damaged_change_list_falls_back_to_the_whole_tree(chain, cli, damage):
    base, home, configs, full = chain
    prepare_both(cli, base, configs, home)
    taken = change_rounds(home, configs["delta"])
    changes = base / "repository" / "snapshots" / taken[2] / "changes.zst"
    if damage == "missing":
        changes.unlink()
    elif damage == "snapshot gone":  # as prune leaves it
        shutil.rmtree(changes.parent)
    elif damage == "corrupt":
        data = bytearray(changes.read_bytes())
        data[len(data) // 2] ^= 0xFF
        changes.write_bytes(bytes(data))
    else:
        changes.write_bytes(changes.read_bytes()[:-12])
    done = cli("--config", configs["delta"], "--json", "finalize", "--skip-preflight", env=trip_env(base, "delta", 7))
    assert done.exit_code == ExitStatus.WARNINGS, done.stderr
    assert done.json["restore"]["method"] == "whole"
    assert any(note.startswith("the whole tree was compared:") and taken[2] in note for note in done.json["notes"]), \
        done.json["notes"]
    assert laptop_equals(base, base / "delta" / home.path.relative_to("/"), taken[-1], paths=PATHS)


def test_sigkill_during_a_delta_finalize_then_the_same_command_resumes(chain, cli, cli_process):
    base, home, configs, full = chain
    slow = write_config(base, home.path, laptop_root=base / "delta", extra_args=["--bwlimit=300"], name="slow.yaml",
                        mailer=False)
    prepare_both(cli, base, {"delta": slow}, home)
    for number in range(40):
        write_mail(home.path, f"big-{number}.mail", size=8000, sub="new")
    (home.path / "src" / "app" / "m3.py").write_text("home's m3\n")
    home.settle(1)
    latest = backup_at(slow, "incremental", 1)
    env = {**trip_env(base, "delta", 2), "TRAVELSYNC_CONFIG": str(slow), "HOME": str(home.path)}
    run_and_kill(["finalize", "--skip-preflight"], env, 0.9)
    laptop = base / "delta" / home.path.relative_to("/")
    # what a power cut leaves (rsync itself killed, not told by its parent's death to clean up)
    (laptop / "Mail" / "new" / ".big-7.mail.Xy12Ab").write_bytes(b"half a mail")
    again = cli_process("--json", "finalize", "--skip-preflight", env=env)
    assert again.exit_code == ExitStatus.WARNINGS, again.stderr
    assert again.json["restore"]["method"] == "delta" and again.json["snapshot"] == latest
    inside = str(home.path.relative_to("/"))
    assert again.json["restore"]["displaced"] == [f"{inside}/src/app/m3.py"]  # rsync's leftovers are not listed
    assert laptop_equals(base, laptop, latest, paths=("Mail", ".fetchmailrc", "src/app/m3.py"))
    assert (laptop / "src" / "app" / "m6.py").read_text() == "edited on the laptop, deleted at home\n"


def test_a_delta_finalize_onto_a_laptop_over_ssh(chain, cli, sshd_server):
    base, home, configs, full = chain
    remote = write_config(base, home.path, laptop_host=f"{sshd_server.user}@{sshd_server.host}",
                          laptop_root=base / "delta", ssh=sshd_server.ssh_config, name="remote.yaml", mailer=False)
    prepare_both(cli, base, {"delta": remote, "whole": configs["whole"]}, home)
    taken = change_rounds(home, configs["whole"])
    done = cli("--config", remote, "--json", "finalize", "--skip-preflight", env=trip_env(base, "delta", 7))
    whole = cli("--config", configs["whole"], "--json", "finalize", "--skip-preflight", "--full",
                env=trip_env(base, "whole", 7))
    assert done.exit_code == whole.exit_code == ExitStatus.WARNINGS, done.stderr
    assert done.json["restore"]["method"] == "delta"
    laptops = [base / name / home.path.relative_to("/") for name in ("whole", "delta")]
    assert same_laptops(*laptops) == []
    assert done.json["restore"]["displaced"] == whole.json["restore"]["displaced"]
    assert laptop_equals(base, laptops[1], taken[-1], paths=PATHS)


def test_change_lists_recorded_in_a_repository_over_ssh_replay_the_same(tmp_path, cli, sshd_server, monkeypatch):
    """The backup lists a remote repository's changed folders there (resources/remote/deleted.sh
    over ssh); finalize reads the lists over ssh. (The local chain above proves delta = whole.)"""
    import yaml

    need_programs("rsync")
    home = Home(tmp_path)
    monkeypatch.setenv("HOME", str(home.path))
    config = write_config(tmp_path, home.path, laptop_root=tmp_path / "delta", name="delta.yaml", mailer=False)
    document = yaml.safe_load(config.read_text())
    document["repository"] = sshd_server.location(str(tmp_path / "remote-repository"))
    document["ssh"] = sshd_server.ssh_config
    config.write_text(yaml.safe_dump(document))
    backup_at(config, "full", 0)
    prepare_both(cli, tmp_path, {"delta": config}, home)
    src = home.path / "src" / "app"
    (src / "m3.py").write_text("home's m3\n")
    (src / "m6.py").unlink()
    (src / "m7.py").rename(src / "m7-renamed.py")
    (src / "m4.py").chmod(0o600)
    os.symlink("m1.py", src / "link")
    shutil.rmtree(home.path / "Other")
    (home.path / "Mail" / "cur" / "3.mail").unlink()
    write_mail(home.path, "day1.mail", sub="new")
    home.settle(1)
    latest = backup_at(config, "incremental", 1)
    done = cli("--config", config, "--json", "finalize", "--skip-preflight", env=trip_env(tmp_path, "delta", 2))
    assert done.exit_code == ExitStatus.WARNINGS, done.stderr
    assert done.json["restore"]["method"] == "delta", done.json["notes"]
    laptop = tmp_path / "delta" / home.path.relative_to("/")
    assert same_laptops(tmp_path / "remote-repository" / "snapshots" / latest / "data" / "home", laptop) == []
    inside = str(home.path.relative_to("/"))
    assert done.json["restore"]["displaced"] == [f"{inside}/src/app/m3.py", f"{inside}/src/app/m6.py"]
    from travelsync.repository import change_list

    _, records = change_list.read_all((tmp_path / "remote-repository" / "snapshots" / latest / "changes.zst").read_bytes())
    assert (change_list.DELETED, b"home/Other") in records and (change_list.DELETED, b"home/src/app/m7.py") in records
