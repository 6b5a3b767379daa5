"""Drill: SIGKILL at seeded random moments of `offsite sync` (a real `python -m travelsync`,
its whole process group: rsync and gocryptfs die too), then the same command again: the copy
must equal one made by uninterrupted runs (the same snapshots, files, snapshot.json bytes,
hard links and `latest`), with no partial left over. Plain to a local path and over sshd on
127.0.0.1 (where the killed run's remote rsync lives on), and encrypted (gocryptfs).
TRAVELSYNC_DRILL_ROUNDS rounds (3 by default; the issue asks for >= 10)."""

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import need_programs
from travelsync.offsite.encrypted import FINGERPRINT_KEY  # each copy's own key: never equal
from tests.drills.conftest import ROUNDS, change_home, day_at, files_under, kill_at, start

pytestmark = pytest.mark.timeout(120 + 40 * ROUNDS)


def with_copy(config: Path, copy: Path, encryption: str, password: Path, sshd=None) -> Path:
    """The config with one `offsite:` entry named friend at `copy` (over ssh with `sshd`)."""
    document = yaml.safe_load(config.read_text())
    entry = {"name": "friend", "repository": sshd.location(str(copy)) if sshd else str(copy),
             "encryption": encryption, "keep": {"full": 4}}
    if sshd:
        document["ssh"] = sshd.ssh_config
    if encryption == "gocryptfs":
        entry["password_command"] = f"cat {password}"
    document["offsite"] = [entry]
    target = config.with_name(f"{config.stem}-{copy.name}.yaml")
    target.write_text(yaml.safe_dump(document))
    return target


def copy_facts(copy: Path, encrypted: bool) -> dict:
    """What must be equal between the drilled copy and the uninterrupted one: every file's
    content and link count, `latest`. Two encrypted copies have two master keys: there the
    sizes and link counts (which gocryptfs keeps) are compared, and each snapshot verified."""
    facts = {"latest": os.readlink(copy / "latest") if (copy / "latest").is_symlink() else None,
             "partial": sorted(p.name for p in (copy / "partial").iterdir()) if (copy / "partial").exists() else []}
    snapshots = copy / "snapshots"
    for folder in sorted(snapshots.iterdir()) if snapshots.exists() else []:
        if encrypted:
            facts[folder.name] = sorted((p.lstat().st_size, p.lstat().st_nlink) for p in folder.rglob("*")
                                        if p.is_file() and p.name != "snapshot.json")
            facts[folder.name + " record"] = {k: v for k, v in yaml.safe_load((folder / "snapshot.json").read_text())
                                              .items() if k != FINGERPRINT_KEY}
            continue
        facts[folder.name] = files_under(folder)
        facts[folder.name + " links"] = sorted(
            (str(p.relative_to(folder)), p.lstat().st_nlink) for p in folder.rglob("*") if p.is_file())
    return facts


@pytest.mark.parametrize("encryption, where", [("none", "local"), ("none", "ssh"), ("gocryptfs", "local")])
def test_kill_offsite_sync(home_world, drill, cli, encryption, where, request):
    need_programs("rsync", *(("gocryptfs", "fusermount3") if encryption == "gocryptfs" else ()))
    sshd = request.getfixturevalue("sshd_server") if where == "ssh" else None
    world = home_world
    password = world.base / "password"
    password.write_text("drill password\n")
    drilled, reference = world.base / "copy-drilled", world.base / "copy-reference"
    slow = with_copy(world.slow, drilled, encryption, password, sshd)
    fast = with_copy(world.fast, drilled, encryption, password, sshd)
    uninterrupted = with_copy(world.fast, reference, encryption, password, sshd)
    hits = 0
    for index in range(ROUNDS):
        changes = change_home(world.home, drill.random, f"offsite{index}")
        backup = cli("--config", world.fast, "backup", "--incremental", env={"TRAVELSYNC_NOW": day_at(index + 2)})
        assert backup.exit_code in (0, 3), backup.stderr
        moment = drill.random.uniform(0.05, 1.5)
        anchor = "rsync" if drill.random.random() < 0.5 else None
        drill.tried(f"round {index + 1}: {changes}; backup; `offsite sync` ({encryption}, {where}, rsync --bwlimit=300), "
                    f"SIGKILL to the whole group {moment:.2f}s after {'rsync started' if anchor else 'the start'}")
        running = start(world.base / f"offsite-{index}", "--config", slow, "offsite", "sync",
                        env={"TRAVELSYNC_NOW": day_at(index + 2, 3)})
        what = kill_at(running, moment, "group", anchor=anchor)
        code = running.wait()
        hits += not what.startswith("finished before")
        drill.say(f"  {what}; the killed run exited {code}")
        rerun = cli("--config", fast, "--json", "offsite", "sync", env={"TRAVELSYNC_NOW": day_at(index + 2, 4)})
        drill.check(rerun.exit_code == 0, f"the re-run of offsite sync completed (exit {rerun.exit_code})",
                    rerun.stderr)
        drill.say(f"  re-run copied {rerun.json['copies'][0]['copied']}, resumed={rerun.json['copies'][0]['resumed']}")
        clean = cli("--config", uninterrupted, "offsite", "sync", env={"TRAVELSYNC_NOW": day_at(index + 2, 4)})
        assert clean.exit_code == 0, clean.stderr
        encrypted = encryption == "gocryptfs"
        drilled_facts, reference_facts = copy_facts(drilled, encrypted), copy_facts(reference, encrypted)
        drill.check(drilled_facts == reference_facts, "the copy equals an uninterrupted run's (files, links, latest)",
                    sorted(k for k in set(drilled_facts) | set(reference_facts)
                           if drilled_facts.get(k) != reference_facts.get(k)))
        drill.check(drilled_facts["partial"] == [], "no partial snapshot is left over")
        everything = sorted(p.name for p in (drilled / "snapshots").iterdir())
        for snapshot in everything if index == ROUNDS - 1 else everything[-1:]:  # all of them once, at the end
            verified = cli("--config", fast, "--json", "offsite", "verify", "friend", snapshot)
            drill.check(verified.exit_code == 0 and verified.json["ok"], f"the copy's {snapshot} verifies",
                        verified.stdout + verified.stderr)
    drill.check(hits >= 1, f"{hits} of {ROUNDS} kills landed while the sync was still running")
