"""Claws Mail accountrc: remove_mail of POP accounts only; refused while Claws runs."""

import hashlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from travelsync.mail.clients import claws
from travelsync.mail.model import DELETE

ACCOUNTRC = """\
[Account: 1]
account_name=marc@example.org
is_default=1
name=Marc # keep, delete
protocol=0
receive_server=pop.example.org
user_id=marc
remove_mail=1
message_leave_time=7
message_leave_hour=0

[Account: 2]
account_name=work imap
protocol=3
receive_server=imap.example.org
remove_mail=1

[Account: 3]
account_name=old pop
protocol=0
receive_server=pop.old.example
user_id=m
message_leave_time=0

[Account: 4]
account_name=already kept
protocol=0
remove_mail=0

[Account: 5]
account_name=twice
protocol=0
remove_mail=0
remove_mail=1
"""

KEPT = ACCOUNTRC.replace("user_id=marc\nremove_mail=1", "user_id=marc\nremove_mail=0") \
    .replace("message_leave_time=0\n", "message_leave_time=0\nremove_mail=0\n") \
    .replace("remove_mail=0\nremove_mail=1\n", "remove_mail=0\nremove_mail=0\n")


def test_spaces_around_equals_are_not_the_setting_for_claws():
    text = "[Account: 1]\nprotocol=0\nremove_mail = 0\n"
    assert claws.accounts(text)[0].mode == DELETE  # Claws compares "remove_mail=" literally


def test_crlf_and_no_final_newline():
    text = "[Account: 1]\r\nprotocol=0\r\nuser_id=marc"
    plan = claws.plan_keep(text)
    assert plan.new_text == "[Account: 1]\r\nprotocol=0\r\nuser_id=marc\r\nremove_mail=0"
    assert claws.plan_revert(plan.new_text, plan.changes).new_text == text


# --- refusals with a real socket and a real process -------------------------------------------

@pytest.fixture
def runtime_dir(monkeypatch):
    folder = Path(tempfile.mkdtemp(prefix="cm", dir="/tmp"))  # short: AF_UNIX paths are limited
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _accountrc(tmp_path):
    folder = tmp_path / ".claws-mail"
    folder.mkdir()
    (folder / "accountrc").write_text(ACCOUNTRC)
    return folder / "accountrc"


def test_listening_control_socket_refuses_and_a_stale_one_does_not(tmp_path, runtime_dir):
    accountrc = _accountrc(tmp_path)
    (runtime_dir / "claws-mail").mkdir()
    path = runtime_dir / "claws-mail" / hashlib.md5(str(accountrc.parent).encode()).hexdigest()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        assert "Claws Mail is running" in claws.refuse_reason(accountrc)
    finally:
        server.close()
    assert path.is_socket()  # left behind as after a crash: nobody answers
    assert claws.refuse_reason(accountrc) is None


def test_running_claws_process_refuses(tmp_path, runtime_dir):
    accountrc = _accountrc(tmp_path)
    child = subprocess.Popen(["bash", "-c", f'exec -a claws-mail {sys.executable} -c "import sys; sys.stdin.read()"'],
                             stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/cmdline").read_bytes().split(b"\0")[0] != b"claws-mail":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert f"pid {child.pid}" in claws.refuse_reason(accountrc)
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert claws.refuse_reason(accountrc) is None
