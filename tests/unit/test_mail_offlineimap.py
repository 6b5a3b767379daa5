"""OfflineIMAP: keep sets sync_deletes = no opposite each IMAP server and expunge = no on it."""

import json
import subprocess

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_mail_property import PROPERTY_SETTINGS, check_keep_revert_round_trip
from travelsync.mail.clients import offlineimap

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


def test_default_section_values_count_and_are_overridden_per_repository():
    text = OFFLINEIMAPRC.replace("maxconnections = 2", "maxconnections = 2\nexpunge = no")
    plan = offlineimap.plan_keep(text)
    assert [c.setting for c in plan.changes] == ["[Repository Personal-Local] sync_deletes",
                                                "[Repository Gmail-Local] sync_deletes",
                                                "[Repository Gmail-Remote] expunge"]


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
