"""Notifiers: real local HTTP server, real /bin/sh commands; a broken notifier never raises."""

import http.server
import json
import socket
import threading

import pytest

from travelsync.config.load import parse_config
from travelsync.notify.hooks import Outcome, as_outcome, notify_outcome, notify_start, send_mail


def make_config(tmp_path, **notify):
    lines = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in notify.items())
    text = f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {tmp_path}\nnotify:\n{lines}\n"
    return parse_config(text, "test.yaml")


class PingServer:
    """A Healthchecks stand-in on 127.0.0.1: records (method, path, body) of every request."""

    def __init__(self):
        self.requests = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append(("POST", self.path, body.decode()))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ping/abc-123"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ping_server():
    server = PingServer()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the with-block ends


SUCCESS = {"exit_status": 0, "snapshot": "20261122T023000Z-full", "kind": "full", "files_transferred": 12,
           "bytes_transferred": 3456, "seconds": 1.25, "warnings": []}
FAILURE = {"exit_status": 1, "snapshot": None, "message": "rsync: connection refused"}


def test_pings_start_success_and_fail(tmp_path, ping_server):
    config = make_config(tmp_path, url=ping_server.url)
    assert notify_start(config) == []
    assert notify_outcome(config, SUCCESS) == []
    assert notify_outcome(config, FAILURE) == []
    paths = [(method, path) for method, path, _ in ping_server.requests]
    assert paths == [("POST", "/ping/abc-123/start"), ("POST", "/ping/abc-123"), ("POST", "/ping/abc-123/fail")]
    assert "20261122T023000Z-full" in ping_server.requests[1][2]
    assert "connection refused" in ping_server.requests[2][2]


def test_warnings_count_as_success_for_the_ping(tmp_path, ping_server):
    config = make_config(tmp_path, url=ping_server.url)
    notify_outcome(config, {**SUCCESS, "exit_status": 3, "warnings": ["file vanished: a"]})
    assert [path for _, path, _ in ping_server.requests] == ["/ping/abc-123"]


def test_unreachable_url_is_reported_not_raised(tmp_path):
    config = make_config(tmp_path, url=f"http://127.0.0.1:{closed_port()}/ping/secret-uuid")
    problems = notify_start(config) + notify_outcome(config, FAILURE)
    assert len(problems) == 2
    assert all("127.0.0.1" in p for p in problems)
    assert not any("secret-uuid" in p for p in problems), "the ping URL's secret path is masked"


def test_command_gets_the_outcome_in_its_environment(tmp_path):
    out = tmp_path / "env.txt"
    config = make_config(tmp_path, command=f"env | grep ^TRAVELSYNC_ | sort > {out}")
    assert notify_outcome(config, FAILURE) == []
    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env["TRAVELSYNC_STATUS"] == "failure"
    assert env["TRAVELSYNC_EXIT_CODE"] == "1"
    assert env["TRAVELSYNC_MESSAGE"] == "rsync: connection refused"
    assert env["TRAVELSYNC_REPOSITORY"].endswith("/repo")


def test_command_runs_on_success_only_when_asked(tmp_path):
    out = tmp_path / "ran.txt"
    quiet = make_config(tmp_path, command=f"echo $TRAVELSYNC_SNAPSHOT >> {out}")
    notify_outcome(quiet, SUCCESS)
    assert not out.exists()
    loud = make_config(tmp_path, command=f"echo $TRAVELSYNC_SNAPSHOT $TRAVELSYNC_BYTES >> {out}", on_success=True)
    notify_outcome(loud, SUCCESS)
    assert out.read_text() == "20261122T023000Z-full 3456\n"


def test_failing_command_and_dead_url_do_not_raise(tmp_path):
    config = make_config(tmp_path, command="echo broken notifier >&2; exit 7",
                         url=f"http://127.0.0.1:{closed_port()}/x")
    problems = notify_outcome(config, FAILURE)
    assert any("broken notifier" in p for p in problems)
    assert len(problems) == 2


def test_mail_through_sendmail(tmp_path):
    """A stand-in sendmail (a shell script) receives a well-formed message on stdin."""
    spool = tmp_path / "spool.eml"
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\ncat > {spool}\n")
    sendmail.chmod(0o755)
    assert send_mail("marc@example.org", as_outcome(FAILURE), sendmail=str(sendmail)) is None
    message = spool.read_text()
    assert "To: marc@example.org" in message and "failure (exit 1)" in message
    assert (tmp_path / "args").read_text().split() == ["-t", "-oi"]


def test_missing_sendmail_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("travelsync.notify.hooks.SENDMAIL_PLACES", ())
    config = make_config(tmp_path, mail_to="marc@example.org")
    assert "no sendmail" in notify_outcome(config, FAILURE)[0]


def test_report_objects_are_accepted():
    class Report:
        snapshot = "20261123T023000Z-incr"
        files_transferred = 3
        bytes_transferred = 10
        seconds = 0.5
        warnings = ("vanished: x",)
        exit_status = 3

    outcome = as_outcome(Report())
    assert outcome == Outcome(3, "20261123T023000Z-incr", None, 3, 10, 0.5, ("vanished: x",), None)
    assert outcome.ok and outcome.status_word == "warnings"
