"""Under --json every failure leaves one error document on stdout, whatever ended the run:
a script reading stdout must never get nothing (or half a report) and have to guess."""

import json
import signal
import subprocess
import sys
import time

import pytest


def _document(stdout: str) -> dict:
    document = json.loads(stdout)
    assert set(document) == {"error", "hint", "exit_status"}, document
    return document


@pytest.mark.parametrize("argv", [
    ["--json", "backup", "--no-such-option"],          # a parameter error, --json before the command
    ["backup", "--json", "--no-such-option"],          # ... and after it
    ["--json", "restore", "--from", "not-a-time-at-all!"],
])
def test_a_usage_error_under_json_prints_the_error_document(cli, tmp_path, argv):
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {tmp_path / 'repo'}\nsources: [{{name: home, path: {tmp_path}}}]\n")
    result = cli("--config", config, *argv)
    assert result.exit_code == 2, result.stdout + result.stderr
    document = _document(result.stdout)
    assert document["exit_status"] == 2 and document["error"]
    assert document["error"].splitlines()[0] in result.stderr  # the same words on both streams


def test_an_unexpected_error_under_json_prints_the_error_document(cli, monkeypatch, tmp_path):
    from travelsync.config import load

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(load, "resolved", broken)
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {tmp_path / 'repo'}\nsources: [{{name: home, path: {tmp_path}}}]\n")
    result = cli("--json", "--config", config, "config", "check")
    assert result.exit_code == 1
    document = _document(result.stdout)
    assert document["exit_status"] == 1 and "RuntimeError: a bug" in document["error"]


@pytest.mark.parametrize("command, code", [(["backup", "--full"], 75),  # backup stops at a safe point: 75
                                           (["prepare", "--skip-preflight"], 143)])
def test_sigterm_under_json_prints_the_error_document(tmp_path, command, code):
    """A hook that sleeps keeps the run alive long enough to be stopped."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "a").write_text("a")
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {tmp_path / 'repo'}\nsources: [{{name: home, path: {home}}}]\n"
                      "hooks: {before_backup: ['sleep 30'], before_prepare: ['sleep 30']}\n")
    process = subprocess.Popen([sys.executable, "-m", "travelsync", "--json", "--config", str(config),
                                *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _sleeping_child(process.pid):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == code, stderr
    document = _document(stdout)
    assert document["exit_status"] == code and "SIGTERM" in document["error"]


def _sleeping_child(pid: int) -> bool:
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "sleep 30"], capture_output=True)
    if found.returncode == 0:
        return True
    shells = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return any(subprocess.run(["pgrep", "-P", shell, "sleep"], capture_output=True).returncode == 0 for shell in shells)
