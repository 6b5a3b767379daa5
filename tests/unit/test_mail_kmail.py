"""KMail's Akonadi POP3 resource file: leaveOnServer in [General]; refused while the resource runs."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from travelsync.mail.clients import kmail
from travelsync.mail.model import DELETE, KEEP

RESOURCE = """\
# written by KConfig; a comment may say keep or delete #
[General]
authenticationMethod=7
filterCheckSize=50000
host=pop.example.org
intervalCheckEnabled=true
intervalCheckInterval=5
leaveOnServerCount=-1
leaveOnServerDays=14
leaveOnServerSize=-1
login=marc
port=995
precommand=
targetCollection=12
useSSL=true

[LeaveOnServer]
seenUidList=000001,000002
seenUidTimeList=1700000000,1700000001
"""


@pytest.mark.parametrize("written, mode", [
    ("leaveOnServer=false", DELETE), ("leaveOnServer = false", DELETE), ("leaveOnServer=true", KEEP),
    ("leaveOnServer=yes", KEEP), ("leaveOnServer[$i]=false", DELETE),
    ("leaveOnServer=true\nleaveOnServer=false", DELETE),
    ("leaveOnServer=false\nleaveOnServer=true", KEEP),
])
def test_present_once_or_twice_last_wins_and_only_the_value_token_changes(written, mode):
    text = RESOURCE.replace("intervalCheckInterval=5\n", f"intervalCheckInterval=5\n{written}\n")
    assert kmail.accounts(text)[0].mode == mode
    plan = kmail.plan_keep(text)
    if mode == KEEP:
        assert plan.new_text == text and plan.changes == ()
    else:
        last = written.split("\n")[-1]
        assert plan.new_text == text.replace(f"{last}\n", last.replace("false", "true") + "\n")
    assert kmail.plan_revert(plan.new_text, plan.changes).new_text == text


def test_default_paths_in_resource_order_native_then_flatpak(tmp_path):
    config = tmp_path / "cfg"
    config.mkdir()
    for n in (10, 2):
        (config / f"akonadi_pop3_resource_{n}rc").write_text(RESOURCE)
    (config / "akonadi_imap_resource_0rc").write_text("[network]\n")
    flatpak = tmp_path / ".var/app/org.kde.kmail2/config"
    flatpak.mkdir(parents=True)
    (flatpak / "akonadi_pop3_resource_0rc").write_text(RESOURCE)
    assert kmail.default_paths(tmp_path, {"XDG_CONFIG_HOME": str(config)}) == [
        config / "akonadi_pop3_resource_2rc", config / "akonadi_pop3_resource_10rc",
        flatpak / "akonadi_pop3_resource_0rc"]


def _resource_process(identifier):
    child = subprocess.Popen(
        ["bash", "-c", f'exec -a akonadi_pop3_resource {sys.executable} -c "import sys; sys.stdin.read()" '
                       f"--identifier {identifier}"], stdin=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not Path(f"/proc/{child.pid}/cmdline").read_bytes().startswith(b"akonadi_pop3_resource\0"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return child


def test_refuses_while_its_own_resource_runs_but_not_for_another_one(tmp_path):
    path = tmp_path / "akonadi_pop3_resource_3rc"
    path.write_text(RESOURCE)
    assert kmail.refuse_reason(path) is None
    for identifier, refused in (("akonadi_pop3_resource_3", True), ("akonadi_pop3_resource_4", False)):
        child = _resource_process(identifier)
        try:
            reason = kmail.refuse_reason(path)
            assert (reason is not None and f"pid {child.pid}" in reason) is refused
        finally:
            child.stdin.close()
            child.wait(timeout=10)
