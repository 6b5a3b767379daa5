"""Fault drills: shared pieces (seeded randomness, the drill log, a small home, real processes
killed at chosen moments, and the checks that say nothing was lost or half-written).

    TRAVELSYNC_DRILL_SEED    the seed (default 20261126); each drill derives its own generator
                             from it and its name, so one drill replays alone.
    TRAVELSYNC_DRILL_ROUNDS  rounds per operation (default 3 for CI; the full run uses 20:
                             `TRAVELSYNC_DRILL_ROUNDS=20 ./scripts/test tests/drills`).

Every drill writes what it tried and what held through `Drill`: printed as it goes (visible
with `pytest -s`) and the whole log is the message of any failed check.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, need_programs

SEED = int(os.environ.get("TRAVELSYNC_DRILL_SEED", "20261126"))
ROUNDS = max(1, int(os.environ.get("TRAVELSYNC_DRILL_ROUNDS", "3")))

FULL_AT = "2026-11-22T02:30:00+00:00"  # a Sunday
INCR_AT = "2026-11-23T02:30:00+00:00"


def day_at(day: int, hour: int = 2, minute: int = 30) -> str:
    """`TRAVELSYNC_NOW` for `day` days after Sunday 2026-11-22 (any number of rounds)."""
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(FULL_AT).replace(hour=hour, minute=minute)
    return (start + timedelta(days=day)).isoformat()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/drills/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)


# ---------------------------------------------------------------- the drill log
class Drill:
    """What a drill tried and what held; a failed check raises with the whole log."""

    def __init__(self, name: str):
        self.name = name
        self.random = random.Random(f"{SEED}:{name}")
        self.lines: list[str] = []
        self.checks = 0
        self.say(f"drill {name} (TRAVELSYNC_DRILL_SEED={SEED}, TRAVELSYNC_DRILL_ROUNDS={ROUNDS})")

    def say(self, text: str) -> None:
        self.lines.append(text)
        print(f"[{self.name}] {text}", flush=True)

    def tried(self, text: str) -> None:
        self.say(f"tried: {text}")

    def held(self, text: str) -> None:
        self.checks += 1
        self.say(f"  held: {text}")

    def check(self, condition, what: str, detail="") -> None:
        if condition:
            self.held(what)
            return
        self.say(f"  FAILED: {what}" + (f": {detail}" if detail != "" else ""))
        raise AssertionError("\n".join(self.lines))

    def log(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def drill(request):
    log = Drill(request.node.name)
    yield log
    print(f"[{log.name}] {log.checks} checks held", flush=True)


# ---------------------------------------------------------------- a small home and its config
def write_mail(home: Path, name: str, size: int = 3000, sub: str = "cur") -> Path:
    path = home / "Mail" / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = hashlib.sha256(name.encode()).hexdigest().encode() * (size // 64)
    path.write_bytes(b"Subject: " + name.encode() + b"\n\n" + body)
    return path


FETCHMAILRC = (b"# home's fetchmail: POP deletes after download, the IMAP account is left alone\n"
               b"set daemon 600\n"
               b"poll pop.example.org protocol pop3\n"
               b"  user marc password 'se cret' no keep\n"
               b"poll imap.example.org protocol imap\n"
               b"  user marc password other\n")


def build_home(base: Path, rng: random.Random, *, mails=30, chunks=4, chunk_size=120_000) -> Path:
    """Home with a Maildir, code, a few larger files (so a slowed rsync lasts) and a .fetchmailrc."""
    home = base / "home" / "marc"
    for number in range(mails):
        write_mail(home, f"{number}.mail", size=rng.randrange(1000, 6000))
    (home / "Mail" / "new").mkdir(parents=True, exist_ok=True)
    (home / "src" / "app").mkdir(parents=True)
    for number in range(8):
        (home / "src" / "app" / f"m{number}.py").write_text(f"x = {number}\n" * rng.randrange(50, 300))
    (home / "big").mkdir()
    for number in range(chunks):
        (home / "big" / f"chunk{number}").write_bytes(rng.randbytes(chunk_size))
    (home / "Other").mkdir()
    (home / "Other" / "not-taken.txt").write_text("home only\n")
    (home / ".fetchmailrc").write_bytes(FETCHMAILRC)
    (home / ".fetchmailrc").chmod(0o600)
    return home


def change_home(home: Path, rng: random.Random, label: str) -> str:
    """A seeded day of changes: new mail, an edited file, a deleted mail, a rewritten chunk."""
    write_mail(home, f"{label}.mail", sub="new", size=rng.randrange(1000, 6000))
    source = home / "src" / "app" / f"m{rng.randrange(8)}.py"
    source.write_text(source.read_text() + f"# {label}\n")
    mails = sorted((home / "Mail" / "cur").iterdir())
    victim = rng.choice(mails) if len(mails) > 5 else None
    if victim:
        victim.unlink()
    chunk = home / "big" / f"chunk{rng.randrange(len(list((home / 'big').iterdir())))}"
    size = chunk.stat().st_size  # a new size: rsync's quick check cannot miss a rewrite within a second
    chunk.write_bytes(rng.randbytes(size + rng.choice([-1, 1]) * rng.randrange(1, 4000)))
    return f"new mail {label}.mail, edited {source.name}, deleted {victim.name if victim else '-'}, rewrote {chunk.name}"


def write_config(path: Path, *, repository: str, home: Path, laptop_root: Path | None = None, ssh=None,
                 extra_args=(), retries=0, retry_delay=0.05, mailer=True) -> Path:
    document = {
        "repository": repository,
        "sources": [{"name": "home", "path": str(home), "exclude": [".cache/"]}],
        "laptop": {"host": "local", "root": str(laptop_root or path.parent / "laptop"),
                   "paths": ["home/Mail", "home/src", "home/big", "home/.fetchmailrc"]},
        "rsync": {"retries": retries, "retry_delay": retry_delay, "extra_args": list(extra_args)},
        "schedule": {"full": "sun 02:30", "incremental": "daily 02:30", "timezone": "UTC"},
    }
    if mailer:
        document["mailer"] = [{"kind": "fetchmail", "file": str(home / ".fetchmailrc")}]
    if ssh:
        document["ssh"] = ssh
    path.write_text(yaml.safe_dump(document))
    return path


# ---------------------------------------------------------------- real processes
class Running:
    """`python -m travelsync …` in its own session (so its whole group can be killed)."""

    def __init__(self, argv, env, folder: Path):
        self.started = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = folder / "stdout", folder / "stderr"
        self.out, self.err = open(self.out_path, "wb"), open(self.err_path, "wb")
        self.process = subprocess.Popen(argv, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL, env=env,
                                        start_new_session=True, cwd=str(REPO_ROOT))
        self.pid = self.process.pid
        self.finished_after = None  # seconds, when it ended before a kill

    def wait(self, timeout=60) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.kill_group()
            self.out.close()
            self.err.close()
        return code

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def session_members(self) -> list[tuple[int, str, bytes]]:
        """(pid, program, command line) of every live process in this run's session (travelsync,
        rsync, ssh…)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat_text = (entry / "stat").read_bytes().decode(errors="replace")  # a name cut mid-character
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = stat_text.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[3]) == self.pid:  # session id
                program = os.path.basename(cmdline.split(b"\0")[0].decode(errors="replace"))
                found.append((int(entry.name), program, cmdline))
        return found


def travelsync_argv(*args) -> list[str]:
    return [sys.executable, "-m", "travelsync", *map(str, args)]


def start(folder: Path, *args, env=None) -> Running:
    return Running(travelsync_argv(*args), {**os.environ, **(env or {})}, folder)


def run_to_end(folder: Path, *args, env=None, timeout=120) -> tuple[int, str, str]:
    running = start(folder, *args, env=env)
    code = running.wait(timeout)
    return code, running.stdout, running.stderr


def kill_at(running: Running, moment: float, victim="group", poll=0.005, label=None, anchor=None) -> str:
    """Kill at `moment` seconds after the start (or, with `anchor` a program name such as "rsync",
    after that program first appears in the run, not counting dry runs such as backup's check
    for changes): the whole group, or only the processes named
    `victim` (e.g. "rsync"), or those for which `victim(pid, program, cmdline)` is true, waiting
    for one to appear if none runs at that moment. Returns what happened, for the log."""
    origin = running.started
    label_anchor = getattr(anchor, "label", anchor)
    if anchor:
        give_up = time.monotonic() + 30
        starts = anchor if callable(anchor) else (lambda _pid, name, cmd: name == anchor and b"\0--dry-run\0" not in cmd)
        while running.process.poll() is None and time.monotonic() < give_up and not any(
                starts(*member) for member in running.session_members()):
            time.sleep(poll)
        origin = time.monotonic()
    deadline = origin + moment
    while time.monotonic() < deadline and running.process.poll() is None:
        time.sleep(poll)
    if running.process.poll() is not None:
        running.finished_after = time.monotonic() - running.started
        return (f"finished before the kill moment {moment:.3f}s{' after ' + label_anchor + ' started' if anchor else ''} "
                f"(after about {running.finished_after:.3f}s, exit {running.process.returncode})")
    if victim == "group":
        running.kill_group()
        return (f"SIGKILL to the whole process group at {time.monotonic() - running.started:.3f}s"
                + (f" ({time.monotonic() - origin:.3f}s after {label_anchor} started)" if anchor else ""))
    chosen = victim if callable(victim) else (lambda pid, name, cmdline: name == victim)
    label = label or getattr(victim, "label", victim)
    give_up = time.monotonic() + 30
    while running.process.poll() is None and time.monotonic() < give_up:
        targets = [pid for pid, name, cmdline in running.session_members() if chosen(pid, name, cmdline)]
        if targets:
            for pid in targets:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return (f"SIGKILL to {len(targets)} {label} process(es) only at "
                    f"{time.monotonic() - running.started:.3f}s")
        time.sleep(poll)
    return f"no {label} process ran after {moment:.3f}s; the run ended (exit {running.process.poll()})"


# ---------------------------------------------------------------- what must hold
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every regular file under root (a file: {'.': sha})."""
    root = Path(root)
    if root.is_file():
        return {".": sha(root)}
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = Path(folder, name)
            if full.is_file() and not full.is_symlink():
                found[os.path.relpath(full, root)] = sha(full)
    return found


def repository_facts(repo: Path) -> dict:
    """Snapshot folders with their snapshot.json bytes, and the `latest` link."""
    folder = repo / "snapshots"
    snapshots = {}
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            document = entry / "snapshot.json"
            snapshots[entry.name] = document.read_bytes() if document.is_file() else None
    latest = os.readlink(repo / "latest") if (repo / "latest").is_symlink() else None
    return {"snapshots": snapshots, "latest": latest}


def check_repository(drill: Drill, cli, config: Path, repo: Path, before: dict | None = None,
                     verify=True) -> dict:
    """Every snapshot folder has a complete snapshot.json and verifies (`verify`: True for all, or
    the ids to verify); `latest` names one of them; nothing listed before is gone or rewritten."""
    facts = repository_facts(repo)
    damaged = [name for name, document in facts["snapshots"].items()
               if document is None or json.loads(document).get("status") != "complete"]
    drill.check(not damaged, f"every folder in snapshots/ has a complete snapshot.json ({len(facts['snapshots'])})",
                damaged)
    if before:
        lost = [name for name, document in before["snapshots"].items() if facts["snapshots"].get(name) != document]
        drill.check(not lost, f"the {len(before['snapshots'])} earlier snapshots are all there, snapshot.json unchanged",
                    lost)
    latest = facts["latest"]
    drill.check(latest is None or (latest.startswith("snapshots/") and latest[len("snapshots/"):] in facts["snapshots"]),
                f"`latest` points at a committed snapshot ({latest})", facts)
    listing = cli("--config", config, "--json", "snapshots")
    drill.check(listing.exit_code == 0 and sorted(r["id"] for r in listing.json) == sorted(facts["snapshots"]),
                "`travelsync snapshots` lists exactly those, without warnings",
        f"exit {listing.exit_code}: {listing.stderr.strip()}")
    if verify:
        names = facts["snapshots"] if verify is True else [n for n in verify if n]
        for name in names:
            result = cli("--config", config, "verify", name)
            drill.check(result.exit_code == 0, f"`travelsync verify {name}` OK",
                        f"exit {result.exit_code}: {result.stdout.strip()} {result.stderr.strip()}")
    return facts


def check_nothing_vanished(drill: Drill, laptop: Path, before: dict[str, str], held_by_repository: set[str],
                           displaced_name=".travelsync-displaced") -> None:
    """Every laptop file from before is still in place, or moved aside with the same content,
    or is a copy the repository holds (the trip's tidy-up removes those from the displaced folder)."""
    now = files_under(laptop)
    aside: dict[str, set[str]] = {}
    displaced = laptop / displaced_name
    if displaced.is_dir():
        for stamp in displaced.iterdir():
            for rel, digest in files_under(stamp).items():
                aside.setdefault(rel, set()).add(digest)
    missing = [rel for rel, digest in before.items()
               if not rel.startswith(displaced_name + "/")
               and now.get(rel) != digest and digest not in aside.get(rel, set()) and digest not in held_by_repository]
    drill.check(not missing, f"all {len(before)} laptop files from before are present, displaced or held by the "
                             "repository", missing)


def snapshot_digests(repo: Path, *snapshot_ids: str) -> set[str]:
    found = set()
    for snapshot_id in snapshot_ids:
        found |= set(files_under(repo / "snapshots" / snapshot_id / "data").values())
    return found


def laptop_matches(laptop_home: Path, data: Path, paths=("Mail", "src", "big", ".fetchmailrc")) -> list[str]:
    """The restored paths that differ from the snapshot's data (empty: all equal)."""
    return [p for p in paths if files_under(laptop_home / p) != files_under(data / p)]


# ---------------------------------------------------------------- mail
def fetchmail_parses(path: Path) -> tuple[bool, str]:
    """fetchmail's own parser on the file (its dump prints passwords: only the exit and line count)."""
    done = subprocess.run(["fetchmail", "-f", str(path), "--configdump"], capture_output=True,
                          env={**os.environ, "HOME": str(path.parent)}, timeout=30)
    return done.returncode == 0, f"fetchmail --configdump exit {done.returncode}"


def slow_checker(folder: Path, seconds: float) -> Path:
    """A `fetchmail` that sleeps, then runs the real one: put the folder first on PATH."""
    real = shutil.which("fetchmail")
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "fetchmail"
    wrapper.write_text(f"#!/bin/sh\necho \"$$ $*\" >> {folder}/calls\nsleep {seconds}\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    return folder


@pytest.fixture
def home_world(tmp_path, drill, monkeypatch, cli):
    """Home, a local repository holding a full (Sunday) and an incremental (Monday), a laptop
    folder, and two configs: `slow` (rsync --bwlimit, for kills) and `fast` (for re-runs)."""
    need_programs("rsync", "fetchmail")
    home = build_home(tmp_path, drill.random)
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repository"
    laptop = tmp_path / "laptop"
    slow = write_config(tmp_path / "slow.yaml", repository=str(repo), home=home, laptop_root=laptop,
                        extra_args=["--bwlimit=300"])
    fast = write_config(tmp_path / "fast.yaml", repository=str(repo), home=home, laptop_root=laptop)
    for kind, when in (("--full", FULL_AT), ("--incremental", INCR_AT)):
        if kind == "--incremental":
            change_home(home, drill.random, "monday")
        result = cli("--config", fast, "backup", kind, env={"TRAVELSYNC_NOW": when})
        assert result.exit_code == 0, result.stderr
    return World(tmp_path, home, repo, laptop, slow, fast)


class World:
    def __init__(self, base, home, repo, laptop, slow, fast):
        self.base, self.home, self.repo, self.laptop, self.slow, self.fast = base, home, repo, laptop, slow, fast

    @property
    def laptop_home(self) -> Path:
        return self.laptop / self.home.relative_to("/")

    def latest_id(self) -> str:
        return os.readlink(self.repo / "latest").split("/", 1)[1]

    def last_full_id(self) -> str:
        return sorted(n.name for n in (self.repo / "snapshots").iterdir() if n.name.endswith("-full"))[-1]

    def data(self, snapshot_id: str) -> Path:
        return self.repo / "snapshots" / snapshot_id / "data" / "home"


# ---------------------------------------------------------------- the laptop and the trip
def seed_laptop(world, rng) -> None:
    """A laptop that already has things: a changed copy of a mail, a draft of its own (both to be
    moved aside), an identical code file, and a folder the restore must not touch."""
    shutil.rmtree(world.laptop, ignore_errors=True)
    mail = world.laptop_home / "Mail" / "cur"
    mail.mkdir(parents=True)
    home_mails = sorted((world.home / "Mail" / "cur").iterdir())
    (mail / rng.choice(home_mails).name).write_text("the laptop's own version of this mail\n")
    (mail / "draft-on-laptop").write_text(f"a draft {rng.random()}\n")
    (world.laptop_home / "src" / "app").mkdir(parents=True)
    (world.laptop_home / "Other").mkdir()
    (world.laptop_home / "Other" / "laptop-only.txt").write_text("never touched\n")


def trip_state(state_dir: Path) -> dict:
    path = state_dir / "travelsync" / "trip.json"
    return json.loads(path.read_text()) if path.exists() else {"state": "idle"}


def end_trip(drill, world, cli, state_dir, when):
    if trip_state(state_dir)["state"] in ("prepared", "finalized"):
        done = cli("--config", world.fast, "return", env={"TRAVELSYNC_NOW": when})
        drill.check(done.exit_code == 0, "`return` ends the trip", done.stderr)
    drill.check((world.home / ".fetchmailrc").read_bytes() == FETCHMAILRC,
                "home's .fetchmailrc is byte for byte the original again")


@pytest.fixture
def keep_bytes(home_world, cli):
    """What `mailer keep` writes into home's .fetchmailrc (one keep and revert, unkilled)."""
    world = home_world
    assert cli("--config", world.fast, "mailer", "keep").exit_code == 0
    kept = (world.home / ".fetchmailrc").read_bytes()
    assert cli("--config", world.fast, "mailer", "revert").exit_code == 0
    assert (world.home / ".fetchmailrc").read_bytes() == FETCHMAILRC
    assert kept != FETCHMAILRC
    return kept


def check_mail_file(drill, path: Path, allowed: dict[str, bytes]) -> None:
    data = path.read_bytes()
    which = [name for name, text in allowed.items() if text == data]
    drill.check(which, f"{path.name} is byte-identical to the {' or the '.join(allowed)} setting "
                       f"({which[0] if which else 'neither'})", data[:300])
    ok, said = fetchmail_parses(path)
    drill.check(ok, f"fetchmail parses it ({said})")
    drill.check(path.stat().st_mode & 0o777 == 0o600, "its mode is still 0600", oct(path.stat().st_mode))


