"""OfflineIMAP: keep sets sync_deletes = no opposite each IMAP server and expunge = no on it."""

import json
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_mail_property import PROPERTY_SETTINGS, check_keep_revert_round_trip
from travelsync.mail.clients import offlineimap
from travelsync.mail.model import DELETE, KEEP, SYNC, Change, MailConfigError

# In the style of the published ones: a pythonfile with a password helper, remotepasseval,
# a Gmail account, a readonly archive, a shared local repository, [DEFAULT], comments.
OFFLINEIMAPRC = """\
# ~/.offlineimaprc
[general]
accounts = Personal, Gmail, Archive
pythonfile = ~/.offlineimap.py
maxsyncaccounts = 2
ui = basic

[DEFAULT]
# applies to every section
maxconnections = 2

[Account Personal]
localrepository = Personal-Local
remoterepository = Personal-Remote
autorefresh = 5
quick = 10

[Repository Personal-Local]
type = Maildir
localfolders = ~/Mail/personal
sync_deletes = yes

[Repository Personal-Remote]
type = IMAP
remotehost = imap.example.org
remoteuser = marc
remotepasseval = get_pass("imap.example.org")
sslcacertfile = /etc/ssl/certs/ca-certificates.crt
folderfilter = lambda folder: folder not in ['Trash',
                                             'Spam']
; expunge is yes by default

[Account Gmail]
localrepository = Gmail-Local
remoterepository = Gmail-Remote
synclabels = yes

[Repository Gmail-Local]
type = GmailMaildir
localfolders = ~/Mail/gmail

[Repository Gmail-Remote]
type = Gmail
remoteuser = marc.keller@gmail.com
remotepasseval = get_pass("gmail")
expunge = True
sslcacertfile = OS-DEFAULT

[Account Archive]
localrepository = Personal-Local
remoterepository = Archive-Remote

[Repository Archive-Remote]
type = IMAP
remotehost = archive.example.org
remoteuser = marc
readonly = True
"""


def test_accounts_with_an_imap_server_are_sync_accounts():
    assert [(a.name, a.protocol, a.mode) for a in offlineimap.accounts(OFFLINEIMAPRC)] == [
        ("Personal", SYNC, DELETE), ("Gmail", SYNC, DELETE), ("Archive", SYNC, KEEP)]


def test_keep_rewrites_values_in_place_adds_missing_lines_and_reverts_exactly():
    plan = offlineimap.plan_keep(OFFLINEIMAPRC)
    assert plan.changes == (
        Change("Personal", "[Repository Personal-Local] sync_deletes", "sync_deletes = yes", "sync_deletes = no"),
        Change("Personal", "[Repository Personal-Remote] expunge", None, "expunge = no"),
        Change("Gmail", "[Repository Gmail-Local] sync_deletes", None, "sync_deletes = no"),
        Change("Gmail", "[Repository Gmail-Remote] expunge", "expunge = True", "expunge = False"),
    )
    new = plan.new_text
    assert "                                             'Spam']\nexpunge = no\n; expunge is yes" in new
    assert "localfolders = ~/Mail/gmail\nsync_deletes = no\n\n[Repository Gmail-Remote]" in new
    assert all(a.mode == KEEP for a in offlineimap.accounts(new))
    assert offlineimap.plan_keep(new).changes == ()
    assert offlineimap.plan_revert(new, plan.changes).new_text == OFFLINEIMAPRC
    check_keep_revert_round_trip(offlineimap, OFFLINEIMAPRC.replace("\n", "\r\n"))


def test_default_section_values_count_and_are_overridden_per_repository():
    text = OFFLINEIMAPRC.replace("maxconnections = 2", "maxconnections = 2\nexpunge = no")
    plan = offlineimap.plan_keep(text)
    assert [c.setting for c in plan.changes] == ["[Repository Personal-Local] sync_deletes",
                                                "[Repository Gmail-Local] sync_deletes",
                                                "[Repository Gmail-Remote] expunge"]


@pytest.mark.parametrize("text, line", [
    ("[Account A]\nlocalrepository = L\nremoterepository = R\n[Repository L]\ntype = Maildir\n"
     "[Repository R]\ntype = IMAP\nexpunge = maybe\n", 8),
    ("[Account A]\nlocalrepository = L\nremoterepository = R\n[Repository L]\ntype = Maildir\n"
     "[Repository R]\ntype = Maildir\n", 7),
    ("[Account A]\nlocalrepository = L\nremoterepository = Nowhere\n[Repository L]\ntype = Maildir\n", 3),
    ("[general]\naccounts = A\n[general]\n", 3),
    ("accounts = A\n", 1),
])
def test_what_offlineimap_refuses_is_refused_with_its_line(text, line):
    with pytest.raises(MailConfigError) as raised:
        offlineimap.accounts(text)
    assert raised.value.line == line


def test_offlineimap_itself_reads_the_edited_file_without_loading_the_pythonfile(tmp_path):
    from tests.conftest import need_programs

    need_programs("offlineimap")
    marker = tmp_path / "marker"
    (tmp_path / "helper.py").write_text(f"open({str(marker)!r}, 'w').write('loaded')\n"
                                        "def get_pass(name):\n    return 'x'\n")
    rc = tmp_path / "offlineimaprc"
    text = offlineimap.plan_keep(OFFLINEIMAPRC.replace("~/.offlineimap.py", str(tmp_path / "helper.py"))).new_text
    rc.write_text(text)
    done = subprocess.run(offlineimap.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Gmail"]["remote"]["expunge"] is False
    assert offlineimap.confirm(done.stdout, text) is None
    assert "account Personal: offlineimap reads keep, travelsync reads delete" in offlineimap.confirm(
        done.stdout, OFFLINEIMAPRC)
    assert not marker.exists()
    rc.write_text(text.replace("expunge = False", "expunge = Falsch"))
    done = subprocess.run(offlineimap.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "Falsch" in done.stderr


def test_module_contract(tmp_path):
    assert offlineimap.KIND == "offlineimap" and offlineimap.AFTER_TRIP_DELETES_KEPT is False
    assert offlineimap.default_paths(tmp_path, {"XDG_CONFIG_HOME": "/x"})[1].as_posix() == "/x/offlineimap/config"
    assert offlineimap.refuse_reason(tmp_path) is None


# -- generated files -----------------------------------------------------------------------------

BOOL = st.sampled_from(["yes", "no", "True", "False", "1", "0", "on", "OFF"])


@st.composite
def offlineimaprc(draw):
    chunks = ["[general]\naccounts = A, B"]
    if draw(st.booleans()):
        chunks.append(f"[DEFAULT]\n{draw(st.sampled_from(['sync_deletes', 'expunge', 'readonly']))} = {draw(BOOL)}")
    repositories = {"L": "Maildir", "R": draw(st.sampled_from(["IMAP", "Gmail"])), "S": "IMAP"}
    chunks.append("[Account A]\nlocalrepository = L\nremoterepository = R")
    chunks.append(f"[Account B]\nlocalrepository = {draw(st.sampled_from(['L', 'S']))}\nremoterepository = S")
    for name, kind in repositories.items():
        body = [f"[Repository {name}]", f"type = {kind}"]
        for key in draw(st.lists(st.sampled_from(["sync_deletes", "expunge", "readonly", "# expunge"]),
                                 unique=True, max_size=3)):
            body.append(key + (" = yes" if key.startswith("#") else f"{draw(st.sampled_from([' = ', '=', ': ']))}"
                                                                        f"{draw(BOOL)}"))
        if draw(st.booleans()):
            body.append("folderfilter = lambda f: f in ['INBOX',\n    'Sent']")
        chunks.append("\n".join(body))
    return draw(st.sampled_from(["\n\n", "\n"])).join(chunks) + draw(st.sampled_from(["", "\n", "\n; end\n"]))


@PROPERTY_SETTINGS
@given(offlineimaprc(), st.sampled_from(["\n", "\r\n"]))
def test_offlineimap_round_trip(text, line_ending):
    check_keep_revert_round_trip(offlineimap, text.replace("\n", line_ending))
