"""Drill 8: the link goes silent in the middle of a transfer (issue 14, finding 2).

The repository, and separately the laptop, is an sshd inside a network namespace made for the
drill (tests/fixtures/netns_link.py). At a seeded moment of the transfer (when a seeded share of
the data has arrived) every packet on the link is dropped, both ways: no connection is closed
or refused, the far end simply stops answering, as behind a dead Wi-Fi or a sleeping NAS.

  * left alone, the command ends with exit 75 naming the host, within the bound its `ssh:`
    settings give (docs/backup.md, "A silent link");
  * SIGTERM or SIGINT during the silence ends it within 10 s, with none of its processes left
    (travelsync, rsync, its ssh sessions and the shared connection's ssh master);
  * once the link is back the same command resumes (the partial snapshot, or the laptop's
    files already there, are reused) and the result equals what an uninterrupted run gives.
"""

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import need, need_programs
from tests.drills.conftest import ROUNDS, files_under, start

pytestmark = pytest.mark.timeout(120 + 120 * ROUNDS)

CONNECT_TIMEOUT, ALIVE_INTERVAL, ALIVE_COUNT = 2, 1, 2
# ssh gives up on a silent peer after alive_interval x (alive_count + 1) s; the command then
# ends within a few seconds more (docs/backup.md gives the arithmetic).
SILENCE_BOUND = ALIVE_INTERVAL * (ALIVE_COUNT + 1) + CONNECT_TIMEOUT + 3
SIGNAL_BOUND = 10  # seconds from SIGTERM/SIGINT to the end, whatever the ssh settings
LINK_RATE = 12_000_000  # bits/s: home's ~3 MB take about 2 s to cross
LOCK_GRACE = 60  # seconds the far end may keep a dead run's lock once the link is back


def build_home(base: Path, rng) -> Path:
    home = base / "home" / "marc"
    for folder, count, size in (("big", 5, 500_000), ("Mail/cur", 40, 4000), ("src", 20, 2000)):
        (home / folder).mkdir(parents=True)
        for number in range(count):
            (home / folder / f"f{number}").write_bytes(rng.randbytes(size + rng.randrange(size // 4)))
    return home


def bytes_under(root: Path) -> int:
    total = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


class World:
    """Home, a config whose repository or laptop is behind the link, and the run's folders."""

    def __init__(self, tmp_path, link, rng, *, laptop: bool, alive_interval=ALIVE_INTERVAL, retries=0, retry_delay=5):
        self.base, self.link, self.rng = tmp_path, link, rng
        self.home = build_home(tmp_path, rng)
        self.total = bytes_under(self.home)
        # short: the control socket's path must fit in 107 bytes; every process of ours names it
        self.runtime = Path(tempfile.mkdtemp(prefix="tssilent-", dir="/tmp"))
        self.repo = tmp_path / "repository"
        self.laptop_root = tmp_path / "laptop"
        ssh = {**link.sshd.ssh_config, "connect_timeout": CONNECT_TIMEOUT, "alive_interval": alive_interval,
               "alive_count": ALIVE_COUNT}
        document = {
            "repository": str(self.repo) if laptop else link.sshd.location(str(self.repo)),
            "sources": [{"name": "home", "path": str(self.home)}],
            "laptop": {"host": f"{link.sshd.user}@{link.address}" if laptop else "local",
                       "root": str(self.laptop_root), "paths": ["home/big", "home/Mail", "home/src"]},
            "rsync": {"retries": retries, "retry_delay": retry_delay},
            "ssh": ssh,
        }
        self.config = tmp_path / "config.yaml"
        self.config.write_text(yaml.safe_dump(document))
        self.env = {"XDG_RUNTIME_DIR": str(self.runtime), "XDG_STATE_HOME": str(tmp_path / "state"),
                    "HOME": str(self.home)}

    def close(self):
        shutil.rmtree(self.runtime, ignore_errors=True)

    def run(self, folder: str, *args, env=None):
        return start(self.base / folder, "--config", self.config, *args, env={**self.env, **(env or {})})

    def ours(self, running) -> list[str]:
        """Our processes still alive: the run's session, and anything naming this drill's folders
        (the ssh master leaves the session; the namespace's sshd and its children are the far end's)."""
        far = set(self.link.processes())
        found = {pid: f"{pid} {name}" for pid, name, _ in running.session_members()}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in far:
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                    state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
                except OSError:
                    continue
                if state != b"Z" and (str(self.runtime).encode() in cmdline or str(self.base).encode() in cmdline):
                    found[int(entry.name)] = entry.name + " " + cmdline.replace(b"\0", b" ")[:160].decode(errors="replace")
        found.pop(os.getpid(), None)
        return sorted(found.values())


def far_receivers(world) -> list[int]:
    """The rsync receivers on the far end writing under the repository's partial/ (rsync hides
    its server arguments: a receiver is known by its working folder, its destination)."""
    found = []
    for pid in world.link.processes():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            where = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cmdline.startswith(b"rsync\0--server\0") and where.startswith(str(world.repo / "partial") + "/"):
            found.append(pid)
    return found


def silence_mid_transfer(drill, world, running, written: Path) -> float:
    """Wait until a seeded share of home's bytes has arrived under `written`, then silence the
    link; the moment (monotonic) it went silent."""
    share = drill.random.uniform(0.1, 0.7)
    deadline = time.monotonic() + 60
    while running.process.poll() is None and time.monotonic() < deadline:
        if bytes_under(written) >= share * world.total:
            break
        time.sleep(0.01)
    world.link.silence()
    silent_at = time.monotonic()
    drill.say(f"  link silenced at {silent_at - running.started:.2f}s, {bytes_under(written)} of {world.total} "
              f"bytes across ({share:.0%} wanted); the run {'still going' if running.process.poll() is None else 'had ended'}")
    return silent_at


def wait_end(running, timeout: float) -> int | None:
    try:
        return running.process.wait(timeout)
    except Exception:
        return None


def rerun_until_unlocked(drill, world, folder, *args):
    """After the link is back: run again; while the far end still holds the dead run's lock (its
    sshd has not yet seen the connection end), exit 75 'is locked by': wait and try again."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        running = world.run(f"{folder}-{attempt}", *args)
        code = running.wait(120)
        if not (code == 75 and "is locked by" in running.stderr) or time.monotonic() - started > LOCK_GRACE:
            drill.say(f"  rerun: exit {code} after {attempt} attempt(s), {time.monotonic() - started:.1f}s; "
                      f"stderr: {running.stderr.strip().splitlines()[-3:]}")
            return code, running


class Freezer:
    """A cgroup (v1 freezer) to hold processes still: a frozen process runs no signal handler
    (a stopped one would be woken by the kernel's SIGHUP + SIGCONT to an orphaned group)."""

    ROOT = Path("/sys/fs/cgroup/freezer")

    def __init__(self):
        need(self.ROOT.is_dir(), "no cgroup v1 freezer at /sys/fs/cgroup/freezer")
        self.path = self.ROOT / f"ts-silent-{os.getpid()}-{time.monotonic_ns()}"
        self.path.mkdir()

    def freeze(self, pids) -> None:
        for pid in pids:
            try:
                (self.path / "tasks").write_text(str(pid))
            except OSError:  # gone meanwhile
                pass
        (self.path / "freezer.state").write_text("FROZEN")

    def thaw(self) -> None:
        (self.path / "freezer.state").write_text("THAWED")
        for pid in (self.path / "tasks").read_text().split():
            try:
                (self.ROOT / "tasks").write_text(pid)
            except OSError:
                pass

    def close(self) -> None:
        self.thaw()
        self.path.rmdir()


@pytest.fixture
def freezer():
    made = Freezer()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def world_factory(tmp_path, namespace_link, drill):
    need_programs("rsync", "flock")
    made = []

    def make(**kw):
        made.append(World(tmp_path, namespace_link, drill.random, **kw))
        return made[-1]

    yield make
    for world in made:
        world.close()


def check_ended(drill, world, running, code, since, bound, how):
    elapsed = time.monotonic() - since
    drill.check(code is not None, f"the run ended {how}", f"still running {elapsed:.1f}s later: {running.stderr}")
    drill.check(elapsed <= bound, f"within {bound} s ({elapsed:.1f} s)", running.stderr)
    left = world.ours(running)
    while left and time.monotonic() < since + bound:  # the bound holds for its processes too
        time.sleep(0.1)
        left = world.ours(running)
    drill.check(not left, f"none of its processes is left {time.monotonic() - since:.1f} s after "
                          "(travelsync, rsync, ssh, the ssh master)", left)


# ---------------------------------------------------------------- the repository behind the link
@pytest.mark.parametrize("stop", ["silence", "SIGTERM", "SIGINT"])
def test_silent_repository(world_factory, drill, cli, stop, freezer):
    world = world_factory(laptop=False, alive_interval=ALIVE_INTERVAL if stop == "silence" else 30)
    host = world.link.address
    for index in range(ROUNDS):
        world.repo.mkdir(exist_ok=True)
        shutil.rmtree(world.repo)
        drill.tried(f"round {index + 1}: `backup --full` to {world.link.sshd.location(str(world.repo))}, the link "
                    f"silenced mid-transfer, then {'nothing' if stop == 'silence' else stop}")
        running = world.run(f"run-{index}", "backup", "--full")
        silent_at = silence_mid_transfer(drill, world, running, world.repo / "partial")
        if stop == "silence":
            code = wait_end(running, 60)
            check_ended(drill, world, running, code, silent_at, SILENCE_BOUND, "on its own")
            drill.check(code == 75 and host in running.stderr, f"exit 75 naming {host}",
                        f"exit {code}: {running.stderr}")
        else:
            time.sleep(drill.random.uniform(0.2, 1.5))
            os.kill(running.pid, getattr(signal, stop))
            signalled = time.monotonic()
            code = wait_end(running, 30)
            check_ended(drill, world, running, code, signalled, SIGNAL_BOUND, f"on {stop}")
            wanted = 75 if stop == "SIGTERM" else 130
            drill.check(code == wanted, f"exit {wanted}", f"exit {code}: {running.stderr}")
        running.wait(1)
        partials = sorted(p.name for p in (world.repo / "partial").iterdir())
        committed = sorted(p.name for p in (world.repo / "snapshots").iterdir()) if (world.repo / "snapshots").exists() else []
        drill.check(len(partials) == 1 and not committed, f"nothing committed, one partial snapshot kept ({partials})",
                    committed)
        # The dead run's rsync receiver lives on at the far end until its connection's end reaches
        # it, then keeps its partial file: renames the half file over the file's name. Once it
        # came after the rerun had written that file in full (a 96 KiB head of a 600 KiB file in
        # a complete snapshot). Frozen here, it outlives the lock whatever the timing: the rerun
        # must end it before it writes.
        stale = far_receivers(world)
        freezer.freeze(stale)
        drill.say(f"  the dead run's rsync receivers at the far end, frozen (cgroup freezer): {stale}")
        world.link.speak()
        code, again = rerun_until_unlocked(drill, world, f"again-{index}", "--json", "backup", "--full")
        freezer.thaw()  # as if the dead connection's end reached them only now
        time.sleep(1)
        drill.check(code == 0, "the rerun completes", again.stderr)
        drill.check(f"resuming the interrupted snapshot {partials[0]}" in again.stderr,
                    "it resumed the partial snapshot", again.stderr)
        made = json.loads(again.stdout)["snapshot"]
        drill.check(files_under(world.repo / "snapshots" / made / "data" / "home") == files_under(world.home),
                    f"{made} holds exactly home's files, as an uninterrupted run's snapshot does")
        verified = cli("--config", world.config, "verify", made, env=world.env)
        drill.check(verified.exit_code == 0, f"`verify {made}` passes", verified.stdout + verified.stderr)
        if stale:
            drill.check(f"ended {len(stale)} rsync process(es)" in again.stderr,
                        "the rerun ended the dead run's receivers before it wrote", again.stderr)


# ---------------------------------------------------------------- the laptop behind the link
@pytest.mark.parametrize("stop", ["silence", "SIGTERM"])
def test_silent_laptop(world_factory, drill, cli, stop):
    world = world_factory(laptop=True, alive_interval=ALIVE_INTERVAL if stop == "silence" else 30)
    host = world.link.address
    made = cli("--config", world.config, "--json", "backup", "--full", env=world.env)
    assert made.exit_code == 0, made.stderr
    snapshot = made.json["snapshot"]
    data = world.repo / "snapshots" / snapshot / "data" / "home"
    laptop_home = world.laptop_root / world.home.relative_to("/")
    for index in range(ROUNDS):
        shutil.rmtree(world.laptop_root, ignore_errors=True)
        command = drill.random.choice([["restore"], ["prepare", "--skip-preflight"]])
        if command[0] == "prepare":
            shutil.rmtree(world.base / "state", ignore_errors=True)  # a new trip each round
        drill.tried(f"round {index + 1}: `{' '.join(command)}` onto {host}:{world.laptop_root}, the link silenced "
                    f"mid-transfer, then {'nothing' if stop == 'silence' else stop}")
        running = world.run(f"run-{index}", *command)
        silent_at = silence_mid_transfer(drill, world, running, world.laptop_root)
        if stop == "silence":
            code = wait_end(running, 60)
            check_ended(drill, world, running, code, silent_at, SILENCE_BOUND, "on its own")
            drill.check(code == 75 and host in running.stderr, f"exit 75 naming {host}",
                        f"exit {code}: {running.stderr}")
        else:
            time.sleep(drill.random.uniform(0.2, 1.5))
            os.kill(running.pid, signal.SIGTERM)
            signalled = time.monotonic()
            code = wait_end(running, 30)
            check_ended(drill, world, running, code, signalled, SIGNAL_BOUND, "on SIGTERM")
            drill.check(code == 143 and "stopped by SIGTERM" in running.stderr, "exit 143, `stopped by SIGTERM`",
                        f"exit {code}: {running.stderr}")
        running.wait(1)
        world.link.speak()
        code, again = rerun_until_unlocked(drill, world, f"again-{index}", *command)
        drill.check(code in (0, 3), f"the rerun of `{command[0]}` completes", again.stderr)
        differ = [p for p in ("big", "Mail", "src") if files_under(laptop_home / p) != files_under(data / p)]
        drill.check(not differ, f"the laptop equals {snapshot}, as after an uninterrupted {command[0]}", differ)


def test_sigterm_during_a_retry_wait(world_factory, drill):
    """A backup waiting to retry rsync after a cut connection (rsync.retry_delay 60 s here)
    stops on SIGTERM within 10 s, not after the wait."""
    world = world_factory(laptop=False, alive_interval=30, retries=1, retry_delay=60)
    drill.tried("`backup --full` to the namespace's sshd, rsync's ssh killed mid-transfer, SIGTERM during the "
                "60 s wait before the retry")
    running = world.run("run", "backup", "--full")
    deadline = time.monotonic() + 30
    while running.process.poll() is None and time.monotonic() < deadline:
        victims = [pid for pid, name, cmdline in running.session_members()
                   if name == "ssh" and b"rsync" in cmdline and b"--server" in cmdline]
        if victims and bytes_under(world.repo / "partial") > world.total // 10:
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    while running.process.poll() is None and "retrying in 60 s" not in running.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    drill.check("retrying in 60 s" in running.stderr, "the run waits 60 s to retry", running.stderr)
    os.kill(running.pid, signal.SIGTERM)
    signalled = time.monotonic()
    code = wait_end(running, 30)
    check_ended(drill, world, running, code, signalled, SIGNAL_BOUND, "on SIGTERM")
    drill.check(code == 75 and "stopped on request" in running.stderr, "exit 75, stopped on request",
                f"exit {code}: {running.stderr}")
    drill.check(len(list((world.repo / "partial").iterdir())) == 1, "the partial snapshot is kept")
