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
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, MailConfigError

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


def test_accounts_modes_protocols_and_leave_time_warning():
    found = {a.name: a for a in claws.accounts(ACCOUNTRC)}
    assert [(n, a.protocol, a.mode) for n, a in found.items()] == [
        ("[Account: 1]", "pop3", DELETE), ("[Account: 2]", "imap", UNKNOWN), ("[Account: 3]", "pop3", DELETE),
        ("[Account: 4]", "pop3", KEEP), ("[Account: 5]", "pop3", DELETE)]
    assert "7 days" in found["[Account: 1]"].warnings[0]
    assert found["[Account: 3]"].warnings == ()  # no leave time: deletes at once, nothing hidden
    assert found["[Account: 4]"].warnings == ()


def test_keep_changes_pop_accounts_only_and_inserts_absent_settings():
    plan = claws.plan_keep(ACCOUNTRC)
    assert plan.new_text == KEPT
    assert [(c.account, c.before, c.after) for c in plan.changes] == [
        ("[Account: 1]", "remove_mail=1", "remove_mail=0"),
        ("[Account: 3]", None, "remove_mail=0"),
        ("[Account: 5]", "remove_mail=1", "remove_mail=0")]
    assert claws.plan_keep(plan.new_text).new_text == plan.new_text
    assert claws.plan_keep(plan.new_text).changes == ()
    assert claws.plan_revert(plan.new_text, plan.changes).new_text == ACCOUNTRC


def test_only_selects_by_section_or_account_name():
    assert [c.account for c in claws.plan_keep(ACCOUNTRC, frozenset({"old pop"})).changes] == ["[Account: 3]"]
    assert [c.account for c in claws.plan_keep(ACCOUNTRC, frozenset({"[Account: 1]"})).changes] == ["[Account: 1]"]


def test_spaces_around_equals_are_not_the_setting_for_claws():
    text = "[Account: 1]\nprotocol=0\nremove_mail = 0\n"
    assert claws.accounts(text)[0].mode == DELETE  # Claws compares "remove_mail=" literally


def test_revert_finds_each_change_in_its_own_account_after_other_edits():
    plan = claws.plan_keep(ACCOUNTRC)
    edited = plan.new_text.replace("name=Marc # keep, delete", "name=Marc M.")
    undone = claws.plan_revert(edited, plan.changes)
    assert undone.new_text == ACCOUNTRC.replace("name=Marc # keep, delete", "name=Marc M.")
    assert len(undone.changes) == 3 and undone.warnings == ()


def test_crlf_and_no_final_newline():
    text = "[Account: 1]\r\nprotocol=0\r\nuser_id=marc"
    plan = claws.plan_keep(text)
    assert plan.new_text == "[Account: 1]\r\nprotocol=0\r\nuser_id=marc\r\nremove_mail=0"
    assert claws.plan_revert(plan.new_text, plan.changes).new_text == text


@pytest.mark.parametrize("text, line", [
    ("", 1),
    ("[Account: 1]\nprotocol=0\njust some words\n", 3),
    ("protocol=0\n[Account: 1]\n", 1),
    ("[Account: 1]\nprotocol=\x00\x01\n", 2),
    ("[Common]\nfoo=bar\n", 1),
])
def test_garbage_binary_and_empty_do_not_parse(text, line):
    with pytest.raises(MailConfigError) as raised:
        claws.plan_keep(text)
    assert raised.value.line == line


def test_default_paths(tmp_path):
    assert claws.default_paths(tmp_path, {}) == [tmp_path / ".claws-mail/accountrc"]


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


def test_module_contract_constants(tmp_path):
    assert claws.KIND == "claws" and claws.AFTER_TRIP_DELETES_KEPT is True
    assert claws.validate_argv(tmp_path / "accountrc") is None
