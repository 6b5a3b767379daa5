"""travelsync/shared_ssh.py with a real sshd: one master per machine however many runs ask at
once, and a run that waits for another's master uses it instead of starting its own."""

import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from tests.conftest import pids_where
from travelsync.config.model import SshConfig
from travelsync.location import ssh_argv
from travelsync.shared_ssh import _held, master_lock_path, multiplexed, start_master

pytestmark = pytest.mark.integration


@pytest.fixture
def muxed(sshd_server):
    """The server's settings on a shared connection whose sockets live in a folder of this test."""
    folder = tempfile.mkdtemp(prefix="tss-", dir="/tmp")  # short: a socket path holds 107 bytes
    settings = SshConfig(port=sshd_server.port, identity=sshd_server.identity,
                         options=("-o", f"UserKnownHostsFile={sshd_server.known_hosts}"))
    ssh = multiplexed(settings, {"XDG_RUNTIME_DIR": folder})
    target = f"{sshd_server.user}@{sshd_server.host}"
    yield ssh, target, folder
    subprocess.run(ssh_argv(ssh, None) + ["-O", "exit", target], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def connections(folder: str) -> list[int]:
    """ssh processes started with a ControlPath in `folder` that are not short-lived clients."""
    return pids_where(lambda cmdline: folder.encode() in cmdline and b"-N" in cmdline.split(b"\0"))


def settle(folder: str, want: int, seconds: float = 5) -> list[int]:
    deadline = time.monotonic() + seconds
    while len(found := connections(folder)) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_runs_asking_at_once_leave_one_master(muxed):
    ssh, target, folder = muxed
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(start_master(ssh, target))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [True] * 4
    assert len(settle(folder, 1)) == 1  # no second master turned into an idle connection


def test_a_run_waiting_for_the_lock_uses_the_master_another_run_started(muxed):
    ssh, target, folder = muxed
    (control_path,) = [a.split("=", 1)[1] for a in ssh_argv(ssh, None) if a.startswith("ControlPath=")]
    answers = []
    with _held(master_lock_path(control_path), 5):
        waiting = threading.Thread(target=lambda: answers.append(start_master(ssh, target)))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and answers == []  # held off while another run starts its master
        argv = ssh_argv(ssh, None)
        subprocess.run(argv[:1] + ["-o", "ControlMaster=yes", "-o", "ControlPersist=30", "-N", "-f"] + argv[1:]
                       + [target], check=True, capture_output=True, timeout=30)
    waiting.join(30)
    assert answers == [True]
    assert len(settle(folder, 1)) == 1
