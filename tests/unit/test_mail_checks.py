"""The check around an edit has no side effects: it runs no command the user's file names,
writes nothing anywhere (a dry run leaves the whole home as it was), judges what the edit
means rather than whether the file's delivery targets exist, and an IMAP-only file is a
success with a note.  The files are written in the style of published ones; the clients'
own checkers run for real (mpop, getmail, fetchmail)."""

import os
from pathlib import Path

import pytest

from tests.conftest import need_programs
from tests.unit.test_mail_apply import assert_refused, client_file, fingerprint, write_settings


def listing(folder: Path) -> dict:
    """Every entry under `folder` with its type, mode, size and mtime: a write anywhere shows."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            info = path.lstat()
            found[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture
def user_home(tmp_path, monkeypatch):
    """A home of its own, and HOME pointing at it for the checkers travelsync starts."""
    folder = tmp_path / "home" / "marc"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    return folder


# -- 1. no check runs a command the user's file names -----------------------------------------

def mpoprc(marker: Path) -> str:
    """An mpoprc in the style of the published ones: passwords from pass(1) and gpg, an account
    inheriting another, a defaults section, an `eval` line (mpop runs it whenever it reads the file)."""
    return f"""\
# ~/.mpoprc -- see mpop(1)
defaults
tls on
tls_starttls off
tls_trust_file system
auth user
delivery mda "/usr/bin/procmail -f '%F' -d %T"
uidls_file ~/.mpop_uidls/%U_at_%H

account gmx
host pop.gmx.net
user marc.keller@gmx.de
passwordeval "echo gmx >> {marker}; pass show mail/gmx.net"
keep off

account work : gmx
host pop.example.com
user mkeller
passwordeval "echo work >> {marker}; gpg2 --no-tty -q -d ~/.mpop-work.gpg"
eval echo "killsize off" && echo eval >> {marker}

account default : gmx
"""


def fetchmailrc(marker: Path) -> str:
    return f"""\
# ~/.fetchmailrc
set daemon 600
set logfile ~/.fetchmail.log
poll pop.example.org proto pop3 auth password
    user "marc" there with password "s3cret" is marc here
    options no keep fetchall
    preconnect "echo preconnect >> {marker}"
    mda "echo mda >> {marker}; /usr/bin/procmail -d %T"
"""


def getmailrc(marker: Path) -> str:
    return f"""\
[retriever]
type = SimplePOP3SSLRetriever
server = pop.example.org
username = marc
password_command = ("/bin/sh", "-c", "echo getmail >> {marker}; pass show mail/pop")

[destination]
type = MDA_external
path = /usr/bin/procmail
arguments = ("-f", "%(sender)", "-m", "/home/marc/.procmailrc")

[options]
delete = true
read_all = false
message_log = ~/.getmail/log/pop.example.org.log
"""


def mbsyncrc(marker: Path) -> str:
    return f"""\
IMAPAccount work
Host imap.example.com
UserCmd "echo usercmd >> {marker}; echo mkeller"
PassCmd "echo passcmd >> {marker}; pass show mail/work"
SSLType IMAPS

IMAPStore work-remote
Account work

IMAPStore tunnelled
Tunnel "echo tunnel >> {marker}; ssh -q mail.example.com /usr/lib/dovecot/imap"

MaildirStore work-local
Path ~/Mail/work/
Inbox ~/Mail/work/INBOX

Channel work
Far :work-remote:
Near :work-local:
Expunge Both

Channel tunnelled
Far :tunnelled:
Near :work-local:Tunnelled
Expunge Both
"""


def offlineimaprc(marker: Path) -> str:
    helper = marker.parent / "offlineimap-helper.py"
    helper.write_text(f"open({str(marker)!r}, 'a').write('pythonfile')\ndef get_pass(): return 'x'\n")
    return f"""\
[general]
accounts = main
pythonfile = {helper}

[Account main]
localrepository = local
remoterepository = remote
presynchook = echo presynchook >> {marker}

[Repository local]
type = Maildir
localfolders = ~/Mail

[Repository remote]
type = IMAP
remotehost = imap.example.org
remoteuser = marc
remotepasseval = __import__("os").system("echo passeval >> {marker}") and get_pass()
"""


# the mpoprc holds no password, only password commands: mpop accepts it with mode 0644
CLIENTS = {"mpop": (".mpoprc", mpoprc, 0o644), "fetchmail": (".fetchmailrc", fetchmailrc, 0o600),
           "getmail": (".config/getmail/getmailrc", getmailrc, 0o600), "mbsync": (".mbsyncrc", mbsyncrc, 0o600),
           "offlineimap": (".offlineimaprc", offlineimaprc, 0o644)}


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_no_check_runs_a_command_the_users_file_names(cli, user_home, kind):
    need_programs(kind)  # the checker must really run for this to prove anything
    name, make, mode = CLIENTS[kind]
    marker = user_home.parent / "ran-a-command-of-the-users-file"
    (user_home / name).parent.mkdir(parents=True, exist_ok=True)
    path = client_file((user_home / name).parent, Path(name).name, make(marker), mode)
    settings = write_settings(user_home.parent, [{"kind": kind, "file": str(path)}])
    home_before = listing(user_home.parent)
    for args in (["--dry-run"], []):
        result = cli("--config", settings, "mailer", "keep", *args)
        assert result.exit_code == (3 if kind == "mpop" else 0), result.stderr  # mpop: a warning about its eval line
        assert "not checked" not in result.stderr  # the client's checker did run
        assert not marker.exists(), f"{kind} check ran: {marker.read_text()}"
        if args:  # a dry run writes nothing anywhere in the home (the client's logs, state, ...)
            assert listing(user_home.parent) == home_before
    assert path.read_text() != make(marker)  # switched
    assert cli("--config", settings, "mailer", "revert").exit_code == 0
    assert path.read_text() == make(marker) and not marker.exists()


def test_mpop_check_still_reads_what_the_file_means(cli, user_home):
    """mpop -P's own `keep =` for every account is compared with travelsync's reading."""
    need_programs("mpop")
    from travelsync.mail.clients import mpop

    marker = user_home / "marker"
    text = mpoprc(marker)
    edited = mpop.plan_keep(text).new_text
    copy = mpop.neutralise(edited)
    assert "pass show" not in copy and "gpg2" not in copy and "echo eval" not in copy
    assert copy.count("passwordeval\n") == 2  # emptied, not replaced by a password (mpop wants 0600 then)
    assert mpop.neutralise(edited).count("\n") == edited.count("\n")  # line numbers stay right
    dump = ("using account gmx from x\nkeep = on\nusing account work from x\nkeep = off\n"
            "using account default from x\nkeep = on\n")
    assert "account work: mpop reads keep = off" in mpop.confirm(dump, edited)
    assert mpop.confirm(dump.replace("keep = off", "keep = on"), edited) is None


# -- 2. a dry run writes nothing, anywhere ---------------------------------------------------

def test_getmail_dry_run_writes_nothing_anywhere_in_the_home(cli, user_home):
    need_programs("getmail")
    (user_home / ".getmail").mkdir()  # where the message_log would go, as on a real machine
    path = client_file(user_home / ".getmail", "getmailrc", getmailrc(user_home / "marker").replace(
        "~/.getmail/log/pop.example.org.log", "~/.getmail/getmail.log"))
    settings = write_settings(user_home.parent, [{"kind": "getmail", "file": str(path)}])
    before = listing(user_home.parent)
    result = cli("--config", settings, "mailer", "keep", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "not checked" not in result.stderr and "+delete = false" in result.stdout
    assert listing(user_home.parent) == before
    assert not (user_home / ".getmail" / "getmail.log").exists()


# -- 3. the check is about meaning, not about where mail is delivered -----------------------

GETMAILRC_ELSEWHERE = """\
# getmailrc of a machine whose Maildir lives on another disk (not mounted here)
[retriever]
type = SimplePOP3SSLRetriever
server = pop.example.org
username = marc
password_command = ("pass", "show", "mail/pop")
ca_certs = ~/.certs/example-ca.pem

[destination]
type = Maildir
path = ~/Mail/archive/inbox/

[options]
verbose = 0
delete = true
message_log = ~/.getmail/Log/getmail.log
"""


def test_getmail_file_whose_maildir_and_log_folder_do_not_exist_here_is_switched(cli, user_home):
    need_programs("getmail")
    folder = user_home / ".config" / "getmail"
    folder.mkdir(parents=True)
    path = client_file(folder, "getmailrc", GETMAILRC_ELSEWHERE)
    settings = write_settings(user_home.parent, [{"kind": "getmail", "file": str(path)}])
    before = listing(user_home)
    kept = cli("--config", settings, "--json", "mailer", "keep")
    assert kept.exit_code == 0, kept.stderr
    assert "not checked" not in kept.stderr and kept.json["files"][0]["mode"] == "keep"
    assert path.read_text() == GETMAILRC_ELSEWHERE.replace("delete = true", "delete = false")
    after = listing(user_home)
    # the file, replaced through a temp file in its folder (so the folder's mtime moves): nothing else
    assert {k for k in after if after[k] != before.get(k)} == {".config/getmail/getmailrc", ".config/getmail"}
    assert cli("--config", settings, "mailer", "revert").exit_code == 0
    assert path.read_text() == GETMAILRC_ELSEWHERE


def test_a_file_getmail_itself_cannot_read_is_refused_saying_the_original_fails_too(cli, user_home):
    need_programs("getmail")
    text = GETMAILRC_ELSEWHERE.replace("verbose = 0", "delete_after = 3d")  # getmail wants whole days
    path = client_file(user_home, "getmailrc", text)
    before = fingerprint(path)
    settings = write_settings(user_home.parent, [{"kind": "getmail", "file": str(path)}])
    line = assert_refused(cli("--config", settings, "mailer", "keep"), str(path),
                          "getmail rejects the file as it is now too", "delete_after must be integer")
    assert "AttributeError" not in line and fingerprint(path) == before


def test_mpop_file_that_needs_its_eval_lines_is_refused_saying_what_it_needs(cli, user_home):
    need_programs("mpop")
    text = ("account home\nhost pop.example.org\nuser marc\npassword secret\n"
            "eval echo delivery maildir ~/Mail\nkeep off\n")
    path = client_file(user_home, ".mpoprc", text)
    settings = write_settings(user_home.parent, [{"kind": "mpop", "file": str(path)}])
    assert_refused(cli("--config", settings, "mailer", "keep"), "mpop rejects the file as it is now too",
                   "no delivery information", "runs no command the file names")


# -- 4. an IMAP-only file: nothing deletes mail on the server ---------------------------------

MUTTRC_IMAP = """\
# ~/.muttrc: IMAP only
set folder = "imaps://marc@imap.example.org/"
set spoolfile = "+INBOX"
set imap_pass = "`pass show mail/imap`"
mailboxes +INBOX +Sent +Archive
"""
FETCHMAILRC_IMAP = """\
poll imap.example.org proto IMAP
    user "marc" there with password "x" is marc here
    options keep ssl
"""


@pytest.mark.parametrize("kind, name, text", [("mutt", ".muttrc", MUTTRC_IMAP),
                                              ("fetchmail", ".fetchmailrc", FETCHMAILRC_IMAP)])
def test_keep_on_an_imap_only_file_succeeds_with_a_note(cli, user_home, kind, name, text):
    path = client_file(user_home, name, text)
    before = fingerprint(path)
    settings = write_settings(user_home.parent, [{"kind": kind, "file": str(path)}])
    for args in (["--dry-run"], []):
        kept = cli("--config", settings, "--json", "mailer", "keep", *args)
        assert kept.exit_code == 0, kept.stderr
        [report] = kept.json["files"]
        assert report["mode"] == "none" and not report["changed"] and report["warnings"] == []
        assert any("nothing in it deletes mail on the server" in note for note in report["notes"])
    assert fingerprint(path) == before
    status = cli("--config", settings, "--json", "mailer", "status")
    assert status.exit_code == 0 and status.json["files"][0]["mode"] == "none"
    assert cli("--config", settings, "mailer", "revert").exit_code == 0
    assert fingerprint(path) == before
