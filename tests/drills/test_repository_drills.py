"""Drills 4, 5 and 6: a damaged or missing `snapshot.json`, a repository of a future format,
and `TRAVELSYNC_NOW` moving backwards between runs."""

import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.drills.conftest import (ROUNDS, build_home, change_home, check_repository, files_under,
                                   repository_facts, write_config)
from travelsync.repository import layout

pytestmark = pytest.mark.timeout(120 + 30 * ROUNDS)


@pytest.fixture
def three_snapshots(tmp_path, drill, cli, monkeypatch):
    """A local repository with a full and two incrementals of a small home."""
    need_programs("rsync")
    home = build_home(tmp_path, drill.random, mails=10, chunks=1, chunk_size=20_000)
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repository"
    config = write_config(tmp_path / "config.yaml", repository=str(repo), home=home, mailer=False)
    ids = []
    for day, kind in enumerate(["--full", "--incremental", "--incremental"]):
        change_home(home, drill.random, f"day{day}")
        result = cli("--config", config, "--json", "backup", kind, env={"TRAVELSYNC_NOW": f"2026-11-{22 + day}T02:30:00+00:00"})
        assert result.exit_code == 0, result.stderr
        ids.append(result.json["snapshot"])
    return home, repo, config, ids


# ---------------------------------------------------------------- drill 4: snapshot.json damaged or missing
def damage(repo: Path, snapshot_id: str, how: str) -> str:
    document = repo / "snapshots" / snapshot_id / "snapshot.json"
    if how == "missing":
        document.unlink()
        return f"removed {snapshot_id}/snapshot.json"
    text = document.read_bytes()
    document.write_bytes(text[: len(text) // 2])
    return f"cut {snapshot_id}/snapshot.json in half ({len(text)} → {len(text) // 2} bytes)"


CASES = [(how, where) for how in ("corrupted", "missing") for where in ("latest", "middle")]


def pick(ids, where):
    return ids[-1] if where == "latest" else ids[1]


@pytest.mark.parametrize("how, where", CASES)
def test_damaged_snapshot_json_listing(three_snapshots, drill, cli, how, where):
    home, repo, config, ids = three_snapshots
    victim = pick(ids, where)
    drill.tried(f"{damage(repo, victim, how)} ({where} of {len(ids)}); `travelsync snapshots`")
    listing = cli("--config", config, "--json", "snapshots")
    # 3: the damaged snapshot.json is a warning
    drill.check("Traceback" not in listing.stderr and listing.exit_code == 3, f"no crash, a warning (exit {listing.exit_code})",
                listing.stderr)
    drill.check([r["id"] for r in listing.json] == [i for i in ids if i != victim],
                "the other snapshots are listed, the damaged one is not listed as usable", listing.json)
    drill.check(victim in listing.stderr and "snapshot.json" in listing.stderr,
                "the listing names the damaged snapshot and its snapshot.json", listing.stderr)
    drill.check(listing.exit_code == 3, "and exits 3 (warnings)", listing.exit_code)


@pytest.mark.parametrize("how, where", CASES)
def test_damaged_snapshot_json_verify(three_snapshots, drill, cli, how, where):
    home, repo, config, ids = three_snapshots
    victim = pick(ids, where)
    drill.tried(f"{damage(repo, victim, how)} ({where} of {len(ids)}); `travelsync verify` of each snapshot")
    for snapshot_id in ids:
        if snapshot_id != victim:
            result = cli("--config", config, "verify", snapshot_id)
            drill.check(result.exit_code == 0, f"`verify {snapshot_id}` (intact) still passes", result.stderr)
    result = cli("--config", config, "verify", victim)
    drill.check("Traceback" not in result.stderr and result.exit_code != 0,
                f"`verify {victim}` fails without a crash (exit {result.exit_code})", result.stderr)
    drill.check("snapshot.json" in result.stderr + result.stdout,
                f"and says that its snapshot.json is {how}", result.stderr.strip())
    plain = cli("--config", config, "verify")
    if where == "latest":
        drill.check(plain.exit_code != 0 and "snapshot.json" in plain.stderr and victim in plain.stderr,
                    "`verify` (latest) says the latest snapshot's snapshot.json is damaged instead of checking "
                    "another one", f"exit {plain.exit_code}: {plain.stdout.strip()} {plain.stderr.strip()}")
        drill.check(all(other not in plain.stdout for other in ids if other != victim),
                    "and reports on no other snapshot", plain.stdout.strip())
    else:
        drill.check(plain.exit_code == 0 and ids[-1] in plain.stdout,
                    f"`verify` (latest) checks the intact latest {ids[-1]} and passes",
                    f"exit {plain.exit_code}: {plain.stdout.strip()} {plain.stderr.strip()}")


@pytest.mark.parametrize("how, where", CASES)
def test_damaged_snapshot_json_next_backup(three_snapshots, drill, cli, how, where):
    home, repo, config, ids = three_snapshots
    victim = pick(ids, where)
    change = change_home(home, drill.random, "after")
    what = damage(repo, victim, how)
    kept = (repo / "snapshots" / victim / "snapshot.json").read_bytes() if how == "corrupted" else None
    drill.tried(f"{what} ({where} of {len(ids)}); {change}; `backup --incremental`")
    result = cli("--config", config, "--json", "backup", "--incremental", env={"TRAVELSYNC_NOW": "2026-11-25T02:30:00+00:00"})
    drill.check("Traceback" not in result.stderr and result.exit_code == 3,  # 3: the damaged snapshot.json, a warning
                f"the backup completes without a crash (exit {result.exit_code})", result.stderr)
    made = result.json["snapshot"]
    parent = json.loads((repo / "snapshots" / made / "snapshot.json").read_text())["parent"]
    drill.check(parent != victim, f"its link-dest parent is not the damaged snapshot (parent {parent})")
    newest_intact = [i for i in ids if i != victim][-1]
    drill.check(parent == newest_intact, f"it links to the newest intact snapshot {newest_intact} (parent {parent})")
    drill.check(files_under(repo / "snapshots" / made / "data" / "home") == files_under(home),
                f"the new snapshot {made} holds exactly home's files")
    drill.check(cli("--config", config, "verify", made).exit_code == 0, f"`verify {made}` passes")
    drill.check(not (repo / "snapshots" / victim / "snapshot.json").exists() if how == "missing"
                else (repo / "snapshots" / victim / "snapshot.json").read_bytes() == kept,
                "the damaged snapshot is left as it was for the user to inspect")
    drill.check(victim in result.stderr and "snapshot.json" in result.stderr,
                "the backup says that the snapshot's snapshot.json is damaged", result.stderr.strip())
    if where == "latest":
        drill.check(f"links to {parent} instead" in result.stderr,
                    f"and that it links to {parent} instead of `latest`", result.stderr.strip())
    drill.check(result.exit_code == 3 and victim in " ".join(result.json["warnings"]),
                "exit 3, the damage among the report's warnings", f"exit {result.exit_code}: {result.json}")


# ---------------------------------------------------------------- drill 5: a repository of a future format
def fingerprint(*roots: Path) -> dict:
    """Every path under the roots with its type, size, mtime and content hash."""
    found = {}
    for root in roots:
        if not root.exists():
            found[str(root)] = "absent"
            continue
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder, name)
                info = path.lstat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
                found[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return found


FUTURE_LOCK = b"pid=4242 host=newer-travelsync command=backup started=2027-01-01T00:00:00+00:00\n"
FUTURE_COMMANDS = [
    ("backup",), ("backup", "--if-due"), ("backup", "--dry-run"), ("snapshots",), ("verify",), ("prune",), ("prune", "--dry-run"),
    ("restore",), ("prepare", "--skip-preflight"),
]


@pytest.mark.parametrize("command", FUTURE_COMMANDS, ids=lambda c: " ".join(c))
def test_future_repository_format_is_refused_and_nothing_written(tmp_path, drill, cli, monkeypatch, isolated_dirs,
                                                                 command):
    need_programs("rsync")
    home = build_home(tmp_path, drill.random, mails=5, chunks=1, chunk_size=10_000)
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repository"
    (repo / "snapshots" / "20270101T000000Z-full" / "data" / "home").mkdir(parents=True)
    (repo / "snapshots" / "20270101T000000Z-full" / "snapshot.json").write_text('{"format": 2, "id": "x"}\n')
    (repo / "partial").mkdir()
    (repo / "travelsync.repo").write_text("format: 2\ncreated: 2027-01-01T00:00:00+00:00\nsource_host: future\n")
    (repo / "lock").write_bytes(FUTURE_LOCK)
    os.symlink("snapshots/20270101T000000Z-full", repo / "latest")
    config = write_config(tmp_path / "config.yaml", repository=str(repo), home=home)
    before = fingerprint(repo, home, tmp_path / "laptop", isolated_dirs / "state")
    drill.tried(f"a repository whose travelsync.repo says `format: 2` (with a lock record of its own); "
                f"`travelsync {' '.join(command)}`")
    result = cli("--config", config, *command, env={"TRAVELSYNC_NOW": "2026-11-24T02:40:00+00:00"})
    drill.check("Traceback" not in result.stderr, "no crash", result.stderr)
    drill.check(result.exit_code == 1, "refused with exit 1 (the engine's failure code)",
                f"exit {result.exit_code}: {result.stdout.strip()} {result.stderr.strip()}")
    drill.check("repository format 2 is newer than this travelsync understands" in result.stderr,
                "the message names format 2 and says this travelsync is older", result.stderr.strip())
    after = fingerprint(repo, home, tmp_path / "laptop", isolated_dirs / "state")
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    drill.check(not changed, "nothing was written: the repository (lock included), home, laptop and state are "
                             "byte for byte and mtime for mtime as before", changed)
    drill.check((repo / "lock").read_bytes() == FUTURE_LOCK, "the future writer's lock record is intact")


# ---------------------------------------------------------------- drill 6: the clock moves backwards (refused unless --allow-clock-behind)
def test_clock_moving_backwards(tmp_path, drill, cli, monkeypatch):
    need_programs("rsync")
    home = build_home(tmp_path, drill.random, mails=10, chunks=1, chunk_size=20_000)
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repository"
    config = write_config(tmp_path / "config.yaml", repository=str(repo), home=home, mailer=False)
    now = datetime.fromisoformat("2026-11-29T02:30:00+00:00")
    previous_ids = set()
    instants = []
    newest = None  # the latest start among the snapshots made: a clock behind it is refused
    for index in range(ROUNDS * 3):
        step = drill.random.choice([timedelta(0), -timedelta(days=drill.random.randrange(1, 9)),
                                    -timedelta(seconds=drill.random.randrange(1, 3600)),
                                    timedelta(hours=drill.random.randrange(1, 30)), "an earlier run's instant"])
        if step == "an earlier run's instant" or (index == 2 and instants):  # always at least once
            step = drill.random.choice(instants) - now
        now += step
        instants.append(now)
        kind = drill.random.choice(["--full", "--incremental", "--auto"])
        changed = drill.random.random() < 0.7 or step <= timedelta(0)
        what = change_home(home, drill.random, f"run{index}") if changed else "no change at home"
        before = repository_facts(repo)
        drill.tried(f"run {index + 1}: clock moved {step} to {now.isoformat()}; {what}; `backup {kind}`")
        result = cli("--config", config, "--json", "backup", kind, env={"TRAVELSYNC_NOW": now.isoformat()})
        if newest is not None and now < newest:
            drill.check(result.exit_code == 1 and "behind the newest snapshot" in result.stderr,
                        f"a clock behind the newest snapshot ({newest.isoformat()}) is refused", result.stderr)
            drill.check(repository_facts(repo) == before, "the refused run wrote nothing")
            result = cli("--config", config, "--json", "backup", kind, "--allow-clock-behind",
                         env={"TRAVELSYNC_NOW": now.isoformat()})
        drill.check("Traceback" not in result.stderr and result.exit_code == 0,
                    f"no crash (exit {result.exit_code})", result.stderr)
        report = result.json
        made = report["snapshot"]
        if report["no_change"]:
            drill.check(made in previous_ids, f"no change: recorded against the existing {made}")
        else:
            drill.check(made not in previous_ids, f"a new, unique id {made}", sorted(previous_ids))
            drill.check(all(layout.order_key(made) > layout.order_key(n) for n in previous_ids),
                        f"{made} comes after every earlier id, whatever the clock", sorted(previous_ids))
        previous_ids.add(made)
        if not report["no_change"]:
            newest = now if newest is None else max(newest, now)
        after = check_repository(drill, cli, config, repo, before, verify=False)
        drill.check(len(after["snapshots"]) == len(before["snapshots"]) + (0 if report["no_change"] else 1),
                    "exactly one more snapshot (or none for no change)")
        drill.check(after["latest"] == f"snapshots/{made}", f"`latest` is the run's snapshot {made}", after["latest"])
        drill.check(files_under(repo / "snapshots" / made / "data" / "home") == files_under(home),
                    f"{made} holds exactly home's files")
    check_repository(drill, cli, config, repo)
