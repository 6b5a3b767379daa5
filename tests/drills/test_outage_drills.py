"""Drills 2 and 3: the repository's file system fills up; the ssh connection to the repository
is cut in the middle of a transfer."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import need, need_programs, need_root, pids_where
from tests.drills.conftest import (ROUNDS, build_home, day_at, change_home, check_repository, files_under, kill_at,
                                   repository_facts, start, write_config)

pytestmark = pytest.mark.timeout(120 + 30 * ROUNDS)


# ---------------------------------------------------------------- drill 2: the repository's disk is full
def used_bytes(mount: Path) -> int:
    info = os.statvfs(mount)
    return (info.f_blocks - info.f_bfree) * info.f_frsize


def resize(mount: Path, size: int) -> None:
    done = subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def small_tmpfs(tmp_path):
    """A tmpfs of 3 MiB mounted for this drill only (root), unmounted in teardown even on failure."""
    need_root()
    need_programs("mount", "umount")
    mount = tmp_path / "repository-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0755", f"drill-tmpfs-{os.getpid()}",
                           str(mount)], capture_output=True, text=True)
    need(done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_repository_disk_full(tmp_path, drill, cli, small_tmpfs, monkeypatch):
    home = build_home(tmp_path, drill.random, mails=10, chunks=2, chunk_size=100_000)
    monkeypatch.setenv("HOME", str(home))
    repo = small_tmpfs / "repo"
    config = write_config(tmp_path / "config.yaml", repository=str(repo), home=home, mailer=False)
    first = cli("--config", config, "--json", "backup", "--full", env={"TRAVELSYNC_NOW": "2026-11-22T02:30:00+00:00"})
    assert first.exit_code == 0, first.stderr
    for index in range(ROUNDS):
        kind = drill.random.choice(["--full", "--incremental"])
        margin = drill.random.randrange(50_000, 400_000)
        resize(small_tmpfs, used_bytes(small_tmpfs) + margin)
        big = home / "big" / f"large{index}"
        big.write_bytes(drill.random.randbytes(margin + drill.random.randrange(200_000, 1_500_000)))
        before = repository_facts(repo)
        when = day_at(1 + index)
        drill.tried(f"round {index + 1}: {margin} bytes free on the repository's tmpfs, home grew by "
                    f"{big.stat().st_size} bytes; `backup {kind}`")
        result = cli("--config", config, "backup", kind, env={"TRAVELSYNC_NOW": when})
        drill.check("Traceback" not in result.stderr and result.exit_code == 1, f"exit 1 (exit {result.exit_code})",
                    result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith("travelsync:")]
        drill.check(lines == [f"travelsync: no space left on {repo}"], "one clear line: `no space left on <repository>`",
                    result.stderr.strip())
        check_repository(drill, cli, config, repo, before)  # older snapshots intact and verifiable
        home_size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
        resize(small_tmpfs, used_bytes(small_tmpfs) + 2 * home_size + 1_000_000)  # room for a whole full
        drill.tried("freed space (the tmpfs grown); the same backup again")
        again = cli("--config", config, "--json", "backup", kind, env={"TRAVELSYNC_NOW": when})
        drill.check(again.exit_code == 0, "the next run succeeds", again.stderr)
        made = again.json["snapshot"]
        drill.check(files_under(repo / "snapshots" / made / "data" / "home") == files_under(home),
                    f"{made} holds exactly home's files (resumed={again.json['resumed']})")
        drill.check(not list((repo / "partial").iterdir()), "no partial snapshot is left over")
        check_repository(drill, cli, config, repo, before)
        big.unlink()  # home back to its size: later fulls stay small


# ---------------------------------------------------------------- drill 3: the ssh connection is cut
def is_transport(pid, name, cmdline) -> bool:
    """rsync's own ssh (the one that runs `rsync --server` on the repository's side): rsync puts
    the remote command after the host as separate arguments. Not the ssh of a store command
    whose one script argument mentions `rsync --server` (leftovers.py's, which ends a dead
    run's receivers): killing that one is no cut of rsync's transport."""
    return name == "ssh" and b"\0rsync\0--server\0" in cmdline


def master_of(sshd):
    marker = str(sshd.known_hosts).encode()

    def pids() -> list[int]:
        return pids_where(lambda cmdline: cmdline.startswith(b"ssh\0") and b"ControlMaster=yes" in cmdline
                          and marker in cmdline)

    return pids


def stop_masters(runtime: Path) -> None:
    """End the shared-connection masters travelsync left (ControlPersist) under this drill's
    runtime folder, by pid, then remove the folder."""
    marker = f"ControlPath={runtime}/".encode()
    for pid in pids_where(lambda cmdline: marker in cmdline):
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            continue
    shutil.rmtree(runtime, ignore_errors=True)


def lock_is_free(repo: Path) -> bool:
    done = subprocess.run(["flock", "-n", "-E", "99", str(repo / "lock"), "true"], capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("victim", ["transport", "master"])
def test_ssh_connection_cut_mid_transfer(tmp_path, drill, cli, sshd_server, monkeypatch, request, victim):
    need_programs("rsync", "flock")
    home = build_home(tmp_path, drill.random, mails=10, chunks=4, chunk_size=120_000)
    monkeypatch.setenv("HOME", str(home))
    runtime = Path(tempfile.mkdtemp(prefix="tsdrill-", dir="/tmp"))  # short: a socket path has 108 bytes at most
    request.addfinalizer(lambda: stop_masters(runtime))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # this drill's own ssh control sockets
    repo = tmp_path / "repository"
    location = sshd_server.location(str(repo))
    fast = write_config(tmp_path / "fast.yaml", repository=location, home=home, ssh=sshd_server.ssh_config,
                        mailer=False)
    slow = write_config(tmp_path / "slow.yaml", repository=location, home=home, ssh=sshd_server.ssh_config,
                        mailer=False, extra_args=["--bwlimit=400"], retries=2, retry_delay=0.2)
    first = cli("--config", fast, "--json", "backup", "--full", env={"TRAVELSYNC_NOW": "2026-11-22T02:30:00+00:00"})
    assert first.exit_code == 0, first.stderr
    masters = master_of(sshd_server)
    for index in range(ROUNDS):
        kind = drill.random.choice(["--full", "--incremental"])
        changes = change_home(home, drill.random, f"day{index}")
        before = repository_facts(repo)
        when = day_at(1 + index)
        drill.tried(f"round {index + 1}: {changes}; `backup {kind}` to {location} (--bwlimit=400, 2 retries); "
                    f"SIGKILL to {'rsync’s ssh' if victim == 'transport' else 'the shared connection’s ssh master'} "
                    "during the transfer")
        running = start(tmp_path / f"run-{index}", "--config", slow, "backup", kind, env={"TRAVELSYNC_NOW": when})
        deadline = time.monotonic() + 20
        while running.process.poll() is None and time.monotonic() < deadline and not any(
                is_transport(*member) for member in running.session_members()):
            time.sleep(0.005)
        time.sleep(drill.random.uniform(0.0, 0.3))
        if victim == "transport":
            what = kill_at(running, 0, victim=is_transport, label="rsync's ssh")
        else:
            pids = masters()
            drill.check(pids, "the shared connection's ssh master is running")
            for pid in pids:
                os.kill(pid, 9)
            what = f"SIGKILL to the ssh master {pids} at {time.monotonic() - running.started:.3f}s"
            time.sleep(0.3)
            lock_lost = running.process.poll() is None and lock_is_free(repo)
        code = running.wait(120)
        drill.say(f"  {what}; the run exited {code}; {running.stderr.count('retrying in')} retries; "
                  f"last line: {running.stderr.strip().splitlines()[-1:]}")
        drill.check(code in (0, 75), "retried to success (0) or gave up with exit 75", running.stderr)
        if code == 75:
            drill.check("unreachable" in running.stderr or "ssh" in running.stderr, "the message says why",
                        running.stderr)
        previous = (before["latest"] or "/").split("/", 1)[1]
        check_repository(drill, cli, fast, repo, before, verify=[previous])
        if victim == "master":
            drill.check(not lock_lost, "while that backup went on after the cut, the repository lock stayed held",
                        "`flock -n REPO/lock` succeeded 0.3 s after the cut, with the backup still running")
        again = cli("--config", fast, "--json", "backup", kind, env={"TRAVELSYNC_NOW": day_at(1 + index, 3, 30)})
        drill.check(again.exit_code == 0, "the next run completes", again.stderr)
        made = again.json["snapshot"]
        drill.check(files_under(repo / "snapshots" / made / "data" / "home") == files_under(home),
                    f"{made} holds exactly home's files")
        check_repository(drill, cli, fast, repo, before, verify=[previous, made])
    check_repository(drill, cli, fast, repo)
