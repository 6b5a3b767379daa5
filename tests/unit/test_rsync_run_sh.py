"""run_rsync drives its program through `sh`: exit codes, signals, cancellation, early stops,
raw bytes, prompt progress, the parent-death signal and flat memory on a large output.

Real programs (rsync, /bin/sh, sleep) stand in for rsync where a test needs an exact output
or a death; each test is bounded to a few seconds.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, need_programs
from travelsync.process import ProgramMissing
from travelsync.rsync.itemize import LISTING_FORMAT
from travelsync.rsync.run import StopTransfer, run_rsync

LISTING = f"--out-format={LISTING_FORMAT}"


def shell(script: str, *extra: str) -> list[str]:
    """A /bin/sh script as the "rsync" argv; `extra` lands in argv (e.g. the listing format)."""
    return ["/bin/sh", "-c", script, "sh", *extra]


def python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def test_rsync_runs_through_sh_imported_only_when_run(tmp_path):
    need_programs("rsync")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("hello")
    code = f"""
import sys
from travelsync.rsync.run import run_rsync
assert "sh" not in sys.modules, "importing the driver must not import sh"
result = run_rsync(["rsync", "-a", "-i", "{tmp_path}/src/", "{tmp_path}/dst/"], on_item=lambda c, n: print(c, n))
assert "sh" in sys.modules, "rsync was not started by sh"
print("exit", result.exit_code)
"""
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert ">f+++++++++ a.txt" in done.stdout and "exit 0" in done.stdout
    assert (tmp_path / "dst" / "a.txt").read_text() == "hello"


def test_child_leads_its_own_process_group():
    result = run_rsync(shell('echo "$$ $(ps -o pgid= -p $$)" >&2'))
    pid, group = result.error_lines[0].split()
    assert pid == group and int(group) != os.getpgid(0)


def test_exit_status_and_signals_are_reported_not_raised():
    assert run_rsync(shell("echo 'rsync: oops' >&2; exit 23")).exit_code == 23
    killed = run_rsync(shell("kill -KILL $$"))
    assert (killed.exit_code, killed.signal) == (128 + signal.SIGKILL, signal.SIGKILL)
    terminated = run_rsync(shell("kill -TERM $$"))
    assert (terminated.exit_code, terminated.signal) == (128 + signal.SIGTERM, signal.SIGTERM)
    assert run_rsync(shell("exit 0")).signal is None


def test_missing_program_is_a_clear_error():
    with pytest.raises(ProgramMissing, match="no-such-rsync-travelsync: not found"):
        run_rsync(["no-such-rsync-travelsync", "--version"])


def test_cancel_terminates_rsync_and_returns():
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    result = run_rsync(["sleep", "20"], cancel=cancel)
    timer.cancel()
    assert result.signal == signal.SIGTERM and result.exit_code == 128 + signal.SIGTERM
    assert time.monotonic() - started < 5


def test_stop_from_a_callback_kills_the_whole_group_and_reaches_the_caller():
    """The background `sleep` keeps stdout open: the run ends early only if the group dies."""
    seen = []

    def first_change(code, name):
        seen.append(name)
        raise StopTransfer

    started = time.monotonic()
    with pytest.raises(StopTransfer):
        run_rsync(shell("echo '>f+++++++++ first'; echo '>f+++++++++ second'; sleep 20 & wait"),
                  on_item=first_change)
    assert seen == ["first"] and time.monotonic() - started < 5


def test_progress_line_arrives_while_rsync_still_runs():
    """`\\r`-ended progress lines are handed over at once, not held for a full buffer."""
    seen = []

    def progress(update):
        seen.append(update)
        raise StopTransfer

    started = time.monotonic()
    with pytest.raises(StopTransfer):
        run_rsync(shell(r"printf '      1,000  10%%    1.00MB/s    0:00:05\r'; sleep 20 & wait"), on_progress=progress)
    assert time.monotonic() - started < 5
    assert (seen[0].bytes, seen[0].percent, seen[0].rate) == (1000, 10, "1.00MB/s")


def test_listing_names_keep_their_exact_bytes(tmp_path):
    """A name rsync printed raw (--8-bit-output, or a latin-1 name) reaches on_files unchanged."""
    name = b"caf\xe9 \xff\\#012 d\xc3\xa9j\xc3\xa0"
    line = b">f+++++++++ 5 b5e9c1ad071b3e7fc779cfaa5e523818 " + name
    listing = tmp_path / "listing"
    listing.write_bytes(line + b"\n" + line.replace(b"5 b5", b"6 c5") + b"\n")
    got = []
    items = []
    result = run_rsync(shell(f"cat '{listing}'", LISTING), on_files=got.extend,
                       on_item=lambda code, text: items.append(text))
    assert got == listing.read_bytes().splitlines()
    assert result.items == 2 and items[0] == name.decode("utf-8", "replace")


def test_parent_death_terminates_rsync(tmp_path):
    """PR_SET_PDEATHSIG, set by sh's child through _preexec_fn: a killed travelsync leaves no rsync."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", f"""
from travelsync.rsync.run import run_rsync
run_rsync(["/bin/sh", "-c", "echo $$ > {pid_file}; exec sleep 30"])
"""], cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        child = int(pid_file.read_text())
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "rsync outlived travelsync"


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_memory_stays_flat_on_a_large_output():
    """500,000 listing lines (~100 MiB) with a consumer slower than the producer: the
    driver's peak memory grows by a few MiB, not by the output (sh keeps no copy, the pipe
    holds rsync back)."""
    code = f"""
import time
from travelsync.rsync.run import run_rsync

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

line = ">f+++++++++ 5 b5e9c1ad071b3e7fc779cfaa5e523818 " + "n" * 150
argv = ["/bin/sh", "-c", "yes '" + line + "' | head -n 500000", "sh", {LISTING!r}]
run_rsync(["/bin/sh", "-c", "exit 0"])  # sh imported, its threads started: not counted
count = [0]
def files(lines):
    count[0] += len(lines)
    time.sleep(0.0005)  # slower than the producer
before = peak_kib()
result = run_rsync(argv, on_files=files)
print(count[0], result.items, (peak_kib() - before) // 1024)
"""
    done = python(code)
    assert done.returncode == 0, done.stderr
    lines, items, growth_mib = map(int, done.stdout.split())
    assert lines == items == 500_000
    print("peak memory growth MiB:", growth_mib)
    assert growth_mib < 16, f"peak memory grew by {growth_mib} MiB for ~100 MiB of output"
