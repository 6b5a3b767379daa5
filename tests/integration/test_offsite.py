"""Off-site copies with the real rsync: to a local path and over a real sshd on 127.0.0.1.

A full and five incrementals are backed up (the clock replayed with TRAVELSYNC_NOW), then
`offsite sync` copies them; the copy must verify against its manifests, take no more than
1.1 x the home repository's space (du: hard links kept), and restore the tree exactly once
the home repository is deleted."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import need_programs

pytestmark = pytest.mark.timeout(240)

DAYS = ["2026-11-22T02:30:00+00:00", "2026-11-23T02:30:00+00:00", "2026-11-24T02:30:00+00:00",
        "2026-11-25T02:30:00+00:00", "2026-11-26T02:30:00+00:00", "2026-11-27T02:30:00+00:00"]


class OffsiteRig:
    """A source tree, a local home repository, and an off-site copy (local or over ssh)."""

    def __init__(self, base: Path, mode: str, sshd=None, encryption: str = "none"):
        self.base, self.mode, self.sshd = base, mode, sshd
        self.source, self.repo, self.copy = base / "source", base / "repo", base / "copy"
        self.config = base / "config.yaml"
        self.source.mkdir()
        self.password = base / "password"
        self.password.write_text("correct horse battery staple\n")
        self.encryption = encryption
        self.write_config()

    def write_config(self, **copy_extra):
        copy = {"name": "friend", "repository": str(self.copy) if self.mode == "local"
                else self.sshd.location(str(self.copy)), "encryption": self.encryption,
                "keep": {"full": 4}, **copy_extra}
        if self.encryption == "gocryptfs":
            copy.setdefault("password_command", f"cat {self.password}")
        document = {"repository": str(self.repo), "sources": [{"name": "home", "path": str(self.source)}],
                    "rsync": {"retries": 0, "retry_delay": 0.01}, "offsite": [copy]}
        if self.sshd is not None:
            document["ssh"] = self.sshd.ssh_config
        self.config.write_text(yaml.safe_dump(document))

    def populate(self):
        """A small tree: mail, code, a big-ish file and a hard link pair."""
        (self.source / "Mail" / "cur").mkdir(parents=True)
        for number in range(30):
            (self.source / "Mail" / "cur" / f"{number}.eml").write_text(f"message {number} SECRET-CONTENT-{number}\n"
                                                                      * 50)
        (self.source / "src").mkdir()
        (self.source / "src" / "plans-for-the-trip.txt").write_text("the treasure is under the oak\n")
        (self.source / "big.bin").write_bytes(os.urandom(1 << 20))
        os.link(self.source / "big.bin", self.source / "big-link.bin")

    def change(self, day: int):
        (self.source / "Mail" / "cur" / f"new-{day}.eml").write_text(f"new mail of day {day}\n" * 20)
        plans = self.source / "src" / "plans-for-the-trip.txt"
        plans.write_text(f"version {day}\n")
        os.utime(plans, (1_700_000_000 + day, 1_700_000_000 + day))  # same size: rsync compares the time


def cli_run(cli, rig, *args, now=None):
    env = {"TRAVELSYNC_NOW": now} if now else None
    return cli("--config", rig.config, *args, env=env)


def week_of_backups(cli, rig):
    rig.populate()
    for day, now in enumerate(DAYS):
        if day:
            rig.change(day)
        kind = "--full" if day == 0 else "--incremental"
        result = cli_run(cli, rig, "--json", "backup", kind, now=now)
        assert result.exit_code == 0, result.stderr


def du_bytes(path: Path) -> int:
    done = subprocess.run(["du", "-s", "--block-size=1", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def tree_digest(root: Path) -> dict:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            found[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), oct(path.stat().st_mode & 0o7777))
        else:
            found[rel] = "dir"
    return found


@pytest.fixture(params=["local", "ssh"])
def rig(request, tmp_path):
    need_programs("rsync", "du")
    sshd = request.getfixturevalue("sshd_server") if request.param == "ssh" else None
    return OffsiteRig(tmp_path, request.param, sshd)


def test_a_week_copied_verifies_keeps_its_hard_links_and_restores_without_home(cli, rig, tmp_path):
    week_of_backups(cli, rig)
    result = cli_run(cli, rig, "--json", "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 0, result.stderr
    report = result.json["copies"][0]
    home_ids = sorted(p.name for p in (rig.repo / "snapshots").iterdir())
    assert report["copied"] == home_ids  # oldest first
    assert report["links"][home_ids[0]] is None  # a full shares no inode, as at home
    assert all(report["links"][b] == a for a, b in zip(home_ids, home_ids[1:]))
    assert sorted(p.name for p in (rig.copy / "snapshots").iterdir()) == home_ids
    assert os.readlink(rig.copy / "latest") == f"snapshots/{home_ids[-1]}"
    for snapshot in home_ids:  # the copy's snapshot.json is the home one, byte for byte
        assert ((rig.copy / "snapshots" / snapshot / "snapshot.json").read_bytes()
                == (rig.repo / "snapshots" / snapshot / "snapshot.json").read_bytes())

    for snapshot in home_ids:
        checked = cli_run(cli, rig, "--json", "offsite", "verify", "friend", snapshot)
        assert checked.exit_code == 0, checked.stderr
        assert checked.json["ok"] and checked.json["checked"] > 30

    home_space, copy_space = du_bytes(rig.repo), du_bytes(rig.copy)
    assert copy_space <= 1.1 * home_space, (copy_space, home_space)

    again = cli_run(cli, rig, "--json", "offsite", "sync", now=DAYS[-1])
    assert again.exit_code == 0 and again.json["copies"][0]["copied"] == []

    expected = tree_digest(rig.source)
    shutil.rmtree(rig.repo)  # the home repository is gone (the fire)
    target = tmp_path / "restored"
    restored = cli_run(cli, rig, "--json", "offsite", "restore", "friend", "--path", "home", "--to", target)
    assert restored.exit_code == 0, restored.stderr
    assert tree_digest(target / "home") == expected
    assert os.stat(target / "home" / "big.bin").st_ino == os.stat(target / "home" / "big-link.bin").st_ino


def test_status_reports_age_and_missing_snapshots(cli, rig):
    week_of_backups(cli, rig)
    before = cli_run(cli, rig, "--json", "offsite", "status", now=DAYS[-1])
    assert before.exit_code == 3  # never synced: a warning
    entry = before.json["copies"][0]
    assert entry["latest"] is None and len(entry["missing"]) == 6 and entry["warning"] == "never synced"
    assert cli_run(cli, rig, "offsite", "sync", now=DAYS[-1]).exit_code == 0
    fresh = cli_run(cli, rig, "--json", "offsite", "status", now="2026-11-27T12:30:00+00:00")
    assert fresh.exit_code == 0, fresh.stdout
    entry = fresh.json["copies"][0]
    assert entry["missing"] == [] and entry["age_seconds"] == 10 * 3600 and entry["warning"] is None
    late = cli_run(cli, rig, "--json", "offsite", "status", now="2026-12-01T02:30:00+00:00")
    assert late.exit_code == 3 and "old (more than 2d)" in late.json["copies"][0]["warning"]
    overall = cli_run(cli, rig, "--json", "status", now="2026-12-01T02:30:00+00:00")
    assert overall.json["offsite"][0]["name"] == "friend"
    assert "more than 2d" in overall.json["offsite"][0]["warning"]


@pytest.fixture(params=["local", "ssh"])
def encrypted_rig(request, tmp_path):
    need_programs("rsync", "du", "gocryptfs", "fusermount3")
    sshd = request.getfixturevalue("sshd_server") if request.param == "ssh" else None
    return OffsiteRig(tmp_path, request.param, sshd, encryption="gocryptfs")


def plaintext_found(folder: Path, needles) -> list:
    """Every needle (a file name or content string) that appears under `folder`, in a name
    or in a file's bytes (grep -r, names by find)."""
    found = []
    for needle in needles:
        names = subprocess.run(["find", str(folder), "-name", f"*{needle}*"], capture_output=True, text=True)
        contents = subprocess.run(["grep", "-rlaF", needle, str(folder)], capture_output=True, text=True)
        if names.stdout.strip() or contents.stdout.strip():
            found.append((needle, names.stdout.strip(), contents.stdout.strip()))
    return found


def test_encrypted_copy_holds_ciphertext_only_and_restores_without_home(cli, encrypted_rig, tmp_path):
    rig = encrypted_rig
    week_of_backups(cli, rig)
    result = cli_run(cli, rig, "--json", "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 0, result.stderr
    home_ids = sorted(p.name for p in (rig.repo / "snapshots").iterdir())
    assert result.json["copies"][0]["copied"] == home_ids
    assert (rig.copy / "gocryptfs.conf").is_file()
    needles = ["plans-for-the-trip", "big-link", "Mail", "new-3.eml", "SECRET-CONTENT", "treasure under the oak",
               "message 7", "manifest.tsv", "home"]
    assert plaintext_found(rig.copy / "snapshots", needles) == []
    assert plaintext_found(rig.copy, ["plans-for-the-trip", "SECRET-CONTENT", "treasure"]) == []
    home_space, copy_space = du_bytes(rig.repo), du_bytes(rig.copy)
    assert copy_space <= 1.1 * home_space, (copy_space, home_space)

    checked = cli_run(cli, rig, "--json", "offsite", "verify", "friend")
    assert checked.exit_code == 0, checked.stderr
    assert checked.json["ok"] and checked.json["snapshot"] == home_ids[-1] and checked.json["checked"] > 30

    expected = tree_digest(rig.source)
    shutil.rmtree(rig.repo)
    target = tmp_path / "restored"
    restored = cli_run(cli, rig, "--json", "offsite", "restore", "friend", "--path", "home", "--to", target)
    assert restored.exit_code == 0, restored.stderr
    assert tree_digest(target / "home") == expected


def test_encrypted_copy_wrong_password_exit_2_nothing_written(cli, encrypted_rig):
    rig = encrypted_rig
    week_of_backups(cli, rig)
    assert cli_run(cli, rig, "offsite", "sync", now=DAYS[2]).exit_code == 0
    before = tree_digest(rig.copy)
    rig.password.write_text("wrong password\n")
    result = cli_run(cli, rig, "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 2, result.stderr
    assert "wrong password" in result.stderr
    assert tree_digest(rig.copy) == before


def test_encrypted_copy_with_another_gocryptfs_config_is_refused(cli, tmp_path):
    need_programs("rsync", "gocryptfs", "fusermount3")
    rig = OffsiteRig(tmp_path, "local", encryption="gocryptfs")
    week_of_backups(cli, rig)
    assert cli_run(cli, rig, "offsite", "sync", now=DAYS[2]).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["gocryptfs", "-init", "-reverse", "-q", "-scryptn", "10", "-passfile", str(rig.password),
                    str(other)], check=True, capture_output=True)
    config = rig.copy / "gocryptfs.conf"
    config.write_bytes((other / ".gocryptfs.reverse.conf").read_bytes())  # same password, another master key
    before = tree_digest(rig.copy)
    result = cli_run(cli, rig, "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 2, result.stderr
    assert "another gocryptfs config" in result.stderr
    assert tree_digest(rig.copy) == before
    restored = cli_run(cli, rig, "offsite", "restore", "friend", "--path", "home", "--to", tmp_path / "out")
    assert restored.exit_code == 2 and "another gocryptfs config" in restored.stderr


def test_a_copy_made_plain_is_never_filled_with_ciphertext(cli, tmp_path):
    need_programs("rsync")
    rig = OffsiteRig(tmp_path, "local")
    week_of_backups(cli, rig)
    assert cli_run(cli, rig, "offsite", "sync", now=DAYS[2]).exit_code == 0
    rig.encryption = "gocryptfs"
    rig.write_config()
    result = cli_run(cli, rig, "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 2 and "was made with encryption: none" in result.stderr


def test_unreachable_host_exit_75_naming_it(cli, tmp_path, sshd_server):
    rig = OffsiteRig(tmp_path, "ssh", sshd_server)
    document = yaml.safe_load(rig.config.read_text())
    document["ssh"] = {**document["ssh"], "port": 9, "connect_timeout": 2}  # nothing listens on the discard port
    rig.config.write_text(yaml.safe_dump(document))
    week_of_backups(cli, rig)
    result = cli_run(cli, rig, "offsite", "sync", now=DAYS[-1])
    assert result.exit_code == 75, result.stderr
    assert "off-site copy friend" in result.stderr and "127.0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # one line, and a hint


def test_full_disk_on_the_copy_keeps_the_partial_and_resumes(cli, tmp_path):
    from tests.conftest import need_root

    need_root()
    need_programs("rsync", "mount", "umount")
    rig = OffsiteRig(tmp_path, "local")
    rig.copy.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k,mode=0700", "tmpfs", str(rig.copy)], check=True)
    try:
        week_of_backups(cli, rig)  # the full alone is over 1 MiB
        full = cli_run(cli, rig, "--json", "offsite", "sync", now=DAYS[-1])
        assert full.exit_code == 1, full.stderr
        assert "no space left on" in full.stderr and "off-site copy friend" in full.stderr
        assert not (rig.copy / "snapshots").exists() or not list((rig.copy / "snapshots").iterdir())
        assert [p.name for p in (rig.copy / "partial").iterdir()] == [sorted(
            p.name for p in (rig.repo / "snapshots").iterdir())[0]]
        subprocess.run(["mount", "-o", "remount,size=20m", str(rig.copy)], check=True)
        again = cli_run(cli, rig, "--json", "offsite", "sync", now=DAYS[-1])
        assert again.exit_code == 0, again.stderr
        assert again.json["copies"][0]["resumed"] and len(again.json["copies"][0]["copied"]) == 6
        assert cli_run(cli, rig, "offsite", "verify", "friend").exit_code == 0
    finally:
        subprocess.run(["umount", "-l", str(rig.copy)], check=False)


def test_if_due_follows_the_backups_and_dry_run_writes_nothing(cli, tmp_path):
    need_programs("rsync")
    rig = OffsiteRig(tmp_path, "local")
    week_of_backups(cli, rig)
    dry = cli_run(cli, rig, "--json", "offsite", "sync", "--dry-run", now=DAYS[-1])
    assert dry.exit_code == 0, dry.stderr
    assert len(dry.json["copies"][0]["copied"]) == 6 and not rig.copy.exists()
    first = cli_run(cli, rig, "--json", "offsite", "sync", "--if-due", now=DAYS[-1])
    assert len(first.json["copies"][0]["copied"]) == 6
    idle = cli_run(cli, rig, "--json", "offsite", "sync", "--if-due", now=DAYS[-1])
    assert idle.exit_code == 0 and idle.json == {"copies": [], "not_due": ["friend"], "failed": []}
    rig.change(9)
    assert cli_run(cli, rig, "backup", "--incremental", now="2026-11-28T02:30:00+00:00").exit_code == 0
    due = cli_run(cli, rig, "--json", "offsite", "sync", "--if-due", now="2026-11-28T02:30:00+00:00")
    assert due.json["copies"][0]["copied"] == ["20261128T023000Z-incr"]


def test_a_second_sync_of_the_same_copy_exits_75_naming_the_holder(cli, tmp_path):
    need_programs("rsync", "flock")
    rig = OffsiteRig(tmp_path, "local")
    week_of_backups(cli, rig)
    assert cli_run(cli, rig, "offsite", "sync", now=DAYS[2]).exit_code == 0
    (rig.copy / "lock").write_text("pid=4242 host=elsewhere command=offsite sync started=now\n")
    holder = subprocess.Popen(["flock", "-n", str(rig.copy / "lock"), "sleep", "30"])
    try:
        import time

        time.sleep(0.3)
        result = cli_run(cli, rig, "offsite", "sync", now=DAYS[-1])
        assert result.exit_code == 75 and "off-site copy friend" in result.stderr and "pid 4242" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_copy_pointed_at_a_repository_that_is_no_copy_is_refused(cli, tmp_path):
    """The home repository reached by another name (a symlink here; a mount or host:path
    elsewhere) must never get the copy's retention: its snapshots would be deleted."""
    need_programs("rsync")
    rig = OffsiteRig(tmp_path, "local")
    rig.copy = tmp_path / "same-repo"
    rig.copy.symlink_to(rig.repo)
    rig.write_config(keep={"full": 1})
    week_of_backups(cli, rig)
    rig.change(7)
    assert cli_run(cli, rig, "backup", "--full", now="2026-11-29T02:30:00+00:00").exit_code == 0
    before = sorted(p.name for p in (rig.repo / "snapshots").iterdir())
    result = cli_run(cli, rig, "offsite", "sync", now="2026-11-29T03:30:00+00:00")
    assert result.exit_code == 2, result.stderr
    assert "not an off-site copy" in result.stderr
    assert sorted(p.name for p in (rig.repo / "snapshots").iterdir()) == before
