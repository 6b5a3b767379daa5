"""mbsync (isync): keep takes the server side out of each channel's Expunge and Remove."""

import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_mail_property import PROPERTY_SETTINGS, check_keep_revert_round_trip
from travelsync.mail.clients import mbsync
from travelsync.mail.model import SYNC

# In the style of the published ones: pass(1) and gpg for passwords, a global Expunge, one
# channel with its own settings, an isync 1.3 style (Master/Slave) channel, a local-only
# channel, a group, a page break.
MBSYNCRC = """\
# ~/.mbsyncrc -- isync 1.4
Create Both
Expunge Both
SyncState *

IMAPAccount fastmail
Host imap.fastmail.com
User marc@fastmail.com
PassCmd "pass show mail/fastmail | head -n1"
SSLType IMAPS
CertificateFile /etc/ssl/certs/ca-certificates.crt

IMAPStore fastmail-remote
Account fastmail

MaildirStore fastmail-local
Subfolders Verbatim
Path ~/Mail/fastmail/
Inbox ~/Mail/fastmail/Inbox

Channel fastmail
Far :fastmail-remote:
Near :fastmail-local:
Patterns * !"[Gmail]/All Mail"
Remove Both
\f
IMAPAccount work
Host imap.example.com
User mkeller
PassCmd "gpg2 -q --for-your-eyes-only --no-tty -d ~/.mailpass.gpg"
SSLType STARTTLS

IMAPStore work-remote
Account work

MaildirStore work-local
Path ~/Mail/work/
Inbox ~/Mail/work/INBOX

Channel work-inbox
  Master :work-remote:INBOX
  Slave :work-local:INBOX
  Expunge Slave

Channel work-archive
Far :work-remote:Archive
Near :work-local:Archive
# inherits Expunge Both

MaildirStore backup
Path /srv/backup/mail/

Channel local-copy
Far :fastmail-local:
Near :backup:

Group everything
Channel fastmail
Channel work-inbox
"""


def test_old_spelling_is_kept_and_a_far_side_maildir_is_not_the_server():
    text = ("IMAPStore r\nHost h\nUser u\n\nMaildirStore l\nPath ~/m/\n\n"
            "Channel c\nMaster :r:\nSlave :l:\nExpunge Both\n\n"
            "Channel reversed\nFar :l:\nNear :r:\nExpunge Far\nRemove Both\n")
    plan = mbsync.plan_keep(text)
    assert "Channel c\nMaster :r:\nSlave :l:\nExpunge Slave\n" in plan.new_text
    assert "Channel reversed\nFar :l:\nNear :r:\nExpunge Far\nRemove Far\n" in plan.new_text  # the server is Near
    assert mbsync.plan_revert(plan.new_text, plan.changes).new_text == text


def test_neutralise_keeps_line_numbers_and_runs_nothing():
    copy = mbsync.neutralise(MBSYNCRC)
    assert "pass show" not in copy and "gpg2" not in copy and copy.count("\n") == MBSYNCRC.count("\n")
    assert [a.mode for a in mbsync.accounts(copy)] == [a.mode for a in mbsync.accounts(MBSYNCRC)]


def test_mbsync_itself_reads_the_file_without_running_its_commands(tmp_path):
    from tests.conftest import need_programs

    need_programs("mbsync")
    marker = tmp_path / "marker"
    rc = tmp_path / "mbsyncrc"
    rc.write_text(MBSYNCRC.replace("pass show mail/fastmail", f"touch {marker}; echo"))
    done = subprocess.run(mbsync.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    rc.write_text(MBSYNCRC.replace("Remove Both", "Remove Sometimes"))
    done = subprocess.run(mbsync.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and f"{rc}:25:" in done.stderr
    assert not marker.exists()


# -- generated files -----------------------------------------------------------------------------

VALUES = st.sampled_from(["None", "Far", "Near", "Both", "Master", "Slave", "far", "BOTH", "Far Near"])


@st.composite
def mbsyncrc(draw):
    chunks = []
    if draw(st.booleans()):
        chunks.append("\n".join(f"{key} {draw(VALUES)}" for key in draw(st.lists(
            st.sampled_from(["Expunge", "Remove", "expunge"]), max_size=3))) or "SyncState *")
    chunks.append("IMAPStore remote\nHost imap.example.org\nUser marc\nPassCmd \"pass show x\"")
    chunks.append("MaildirStore local\nPath ~/Mail/")
    for index in range(draw(st.integers(1, 3))):
        far, near = draw(st.sampled_from([(":remote:", ":local:"), (":local:", ":remote:"), (":local:", ":local:"),
                                          (":remote:", ":remote:")]))
        names = draw(st.sampled_from([("Far", "Near"), ("Master", "Slave")]))
        body = [f"Channel c{index}", f"{names[0]} {far}", f"{names[1]} {near}"]
        for key in draw(st.lists(st.sampled_from(["Expunge", "Remove", "Create", "# Expunge Both"]), max_size=3)):
            body.append(f"{draw(st.sampled_from(['', '  ']))}{key} {draw(VALUES)}" if not key.startswith("#") else key)
        chunks.append("\n".join(body))
    separator = draw(st.sampled_from(["\n\n", "\n\f\n", "\n \n"]))
    return separator.join(chunks) + draw(st.sampled_from(["", "\n"]))


@PROPERTY_SETTINGS
@given(mbsyncrc(), st.sampled_from(["\n", "\r\n"]))
def test_mbsync_round_trip(text, line_ending):
    check_keep_revert_round_trip(mbsync, text.replace("\n", line_ending))
