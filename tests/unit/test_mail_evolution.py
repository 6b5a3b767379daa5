"""Evolution .source files: KeepOnServer in [Pop Backend]; refused while the registry runs."""

import subprocess
import sys
import time
from pathlib import Path

from travelsync.mail.clients import evolution
from travelsync.mail.model import DELETE, KEEP, UNKNOWN

POP_SOURCE = """\
# a comment: keep, delete, #
[Data Source]
DisplayName=marc@example.org
DisplayName[de]=Marcs Konto
Enabled=true
Parent=

[Mail Account]
BackendName=pop
IdentityUid=1b3c9f2e.example
NeedsInitialSetup=false

[Pop Backend]
AutoFetch=true
DeleteAfterDays=7
DeleteExpunged=true
DisableExtensions=false
KeepOnServer = false
EnableUtf8=true

[Authentication]
Host=pop.example.org
Method=PLAIN
Port=995
User=marc
"""

IMAP_SOURCE = """\
[Data Source]
DisplayName=work
Enabled=true

[Mail Account]
BackendName=imapx

[Imapx Backend]
KeepOnServer=false
"""


def test_absent_keep_on_server_is_the_camel_default_keep():
    text = POP_SOURCE.replace("KeepOnServer = false\n", "")
    assert evolution.accounts(text)[0].mode == KEEP
    assert evolution.plan_keep(text).new_text == text


def test_present_twice_the_last_wins():
    text = POP_SOURCE.replace("KeepOnServer = false\n", "KeepOnServer=true\nKeepOnServer=0\n")
    assert evolution.accounts(text)[0].mode == DELETE
    plan = evolution.plan_keep(text)
    assert plan.new_text == POP_SOURCE.replace("KeepOnServer = false\n", "KeepOnServer=true\nKeepOnServer=true\n")
    assert evolution.plan_revert(plan.new_text, plan.changes).new_text == text
    assert evolution.accounts(POP_SOURCE.replace("KeepOnServer = false\n", "KeepOnServer=false\nKeepOnServer=true\n")
                              )[0].mode == KEEP


def test_imap_and_non_mail_sources_are_never_changed():
    assert [(a.name, a.protocol, a.mode) for a in evolution.accounts(IMAP_SOURCE)] == [("work", "imap", UNKNOWN)]
    assert evolution.plan_keep(IMAP_SOURCE).changes == ()
    assert evolution.accounts("[Data Source]\nDisplayName=Contacts\n\n[Address Book]\nBackendName=local\n") == []


def test_revert_leaves_a_value_changed_since_keep_and_says_so():
    plan = evolution.plan_keep(POP_SOURCE)
    edited = plan.new_text.replace("KeepOnServer = true", "KeepOnServer=true")
    edited = edited.replace("AutoFetch=true", "AutoFetch=false")
    undone = evolution.plan_revert(edited, plan.changes)
    assert undone.new_text == edited and undone.changes == ()
    assert "changed since keep" in undone.warnings[0]


def test_default_paths_lists_only_pop_sources(tmp_path):
    sources = tmp_path / "cfg/evolution/sources"
    sources.mkdir(parents=True)
    (sources / "b-pop.source").write_text(POP_SOURCE)
    (sources / "a-imap.source").write_text(IMAP_SOURCE)
    (sources / "notes.txt").write_text(POP_SOURCE)
    flatpak = tmp_path / ".var/app/org.gnome.Evolution/config/evolution/sources"
    flatpak.mkdir(parents=True)
    (flatpak / "c.source").write_text(POP_SOURCE)
    assert evolution.default_paths(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}) == [
        sources / "b-pop.source", flatpak / "c.source"]


def test_running_source_registry_refuses(tmp_path):
    source = tmp_path / "pop.source"
    source.write_text(POP_SOURCE)
    assert evolution.refuse_reason(source) is None
    child = subprocess.Popen(
        ["bash", "-c", f'exec -a evolution-source-registry {sys.executable} -c "import sys; sys.stdin.read()"'],
        stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{child.pid}/cmdline").read_bytes().startswith(b"evolution-source-registry\0"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        reason = evolution.refuse_reason(source)
        assert "evolution-source-registry is running" in reason and f"pid {child.pid}" in reason
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def test_a_pop_backend_named_only_in_a_comment_is_not_a_pop_account():
    text = "# [Pop Backend]\n[Data Source]\nDisplayName=x\n\n[Mail Account]\nBackendName=imapx\n"
    assert [a.protocol for a in evolution.accounts(text)] == ["imap"]
    assert evolution.plan_keep(text).new_text == text
