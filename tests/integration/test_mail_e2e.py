"""End to end with a real Dovecot POP3 server and the real clients (fetchmail, getmail6, mpop).

With the original config a fetch empties the mailbox; after `travelsync mailer keep` (through
the CLI, from a travelsync config whose mailer entry names the file) a fetch leaves every
message on the server; after `mailer revert` the file is byte-identical, mode unchanged, and
the client deletes again.
"""

import shutil
import stat
import tempfile
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.conftest import need_programs
from tests.unit.test_mail_apply import FETCHMAILRC, assert_refused, client_file, fingerprint, write_settings


@dataclass
class Client:
    config: Path
    fetch: Callable[[], None]
    delivered: Callable[[], int]


def _count_subjects(path: Path) -> int:
    return path.read_text().count("Subject: test message") if path.exists() else 0


def fetchmail_client(folder: Path, server, options: str) -> Client:
    folder.mkdir(mode=0o700)
    rc, out = folder / "fetchmailrc", folder / "delivered.mbox"
    rc.write_text(
        "# fetchmail for the trip test: \"keep\" in a comment must not count\n"
        "set no syslog\n"
        f"poll 127.0.0.1 with protocol POP3 and port {server.port} auth password:\n"
        f'    user "{server.user}" there with password "{server.password}" is "me" here\n'
        f"    options no sslcertck{options}\n"
        f"    mda \"/bin/sh -c 'cat >> {out}'\"\n")
    rc.chmod(0o600)

    def fetch():
        done = subprocess.run(["fetchmail", "-f", str(rc), "--idfile", str(folder / "ids"),
                               "--pidfile", str(folder / "fetchmail.pid")],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 1), done.stderr  # 1: no new mail

    return Client(rc, fetch, lambda: _count_subjects(out))


def getmail_client(folder: Path, server, _options: str) -> Client:
    folder.mkdir(mode=0o700)
    rc, out = folder / "getmailrc", folder / "delivered.mbox"
    out.touch()
    rc.write_text(
        "# getmailrc: delete = false would keep; this one deletes\n"
        "[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\n"
        f"port = {server.port}\nusername = {server.user}\npassword = {server.password}\n\n"
        "[destination]\ntype = MDA_external\npath = /bin/sh\n"
        f'arguments = ("-c", "cat >> {out}")\nallow_root_commands = true\n\n'

        "[options]\nread_all = false\ndelete = true\nverbose = 0\n")
    rc.chmod(0o640)

    def fetch():
        done = subprocess.run(["getmail", "--getmaildir", str(folder)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    return Client(rc, fetch, lambda: _count_subjects(out))


def mpop_client(folder: Path, server, options: str) -> Client:
    folder.mkdir(mode=0o700)
    rc, out = folder / "mpoprc", folder / "delivered.mbox"
    out.touch()
    rc.write_text(
        "# mpop: keep off deletes\n"
        "defaults\n  tls off\n  auth user\n\n"
        f"account rig\n  host 127.0.0.1\n  port {server.port}\n  user {server.user}\n"
        f"  password {server.password}\n  uidls_file {folder}/uidls\n  delivery mbox {out}\n{options}")
    rc.chmod(0o600)  # mpop refuses a file with a password unless 0600

    def fetch():
        done = subprocess.run(["mpop", "-q", "-C", str(rc), "rig"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    return Client(rc, fetch, lambda: _count_subjects(out))


CASES = {
    "fetchmail-absent": ("fetchmail", fetchmail_client, ""),
    "fetchmail-no-keep": ("fetchmail", fetchmail_client, " no keep"),
    "getmail": ("getmail", getmail_client, ""),
    "mpop-absent": ("mpop", mpop_client, ""),
    "mpop-keep-off": ("mpop", mpop_client, "  keep off\n"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(CASES))
def test_keep_on_server_and_back(case, dovecot_pop3, tmp_path, cli):
    kind, make, options = CASES[case]
    need_programs(kind)
    server = dovecot_pop3
    client = make(tmp_path / kind, server, options)
    original = client.config.read_bytes()
    original_mode = stat.S_IMODE(client.config.stat().st_mode)
    settings = tmp_path / "travelsync.yaml"
    settings.write_text(yaml.safe_dump({
        "repository": str(tmp_path / "repository"),
        "sources": [{"name": "home", "path": str(tmp_path)}],
        "mailer": [{"kind": kind, "file": str(client.config)}],
    }))

    server.put(3)
    client.fetch()
    assert client.delivered() == 3
    assert server.count() == 0, "the original config should delete after download"

    kept = cli("--config", settings, "--json", "mailer", "keep")
    assert kept.exit_code == 0, kept.stderr
    assert kept.json["files"][0]["mode"] == "keep" and kept.json["files"][0]["changed"]
    assert stat.S_IMODE(client.config.stat().st_mode) == original_mode
    assert cli("--config", settings, "mailer", "keep").exit_code == 0  # idempotent

    server.put(3)
    client.fetch()
    assert client.delivered() == 6
    assert server.count() == 3, "after keep every message stays on the server"

    reverted = cli("--config", settings, "mailer", "revert")
    assert reverted.exit_code == 0, reverted.stderr
    assert client.config.read_bytes() == original
    assert stat.S_IMODE(client.config.stat().st_mode) == original_mode

    server.put(1)
    client.fetch()
    if kind == "fetchmail":
        # fetchmail deletes only what it fetches now: the UIDs it saw while keeping stay (no flush)
        assert server.count() == 3
    else:
        # getmail and mpop delete everything they kept: the after-trip order matters
        assert server.count() == 0
        assert "deletes the messages it kept" in reverted.stderr


@pytest.mark.timeout(60)
def test_remote_file_keep_and_revert_over_ssh(cli, sshd_server, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="travelsync-remote-"))
    try:
        path = client_file(folder, "fetchmailrc", FETCHMAILRC)
        link = folder / "link"
        link.symlink_to(path)
        before = path.read_bytes()
        settings = write_settings(tmp_path, [{"kind": "fetchmail", "file": sshd_server.location(str(link))}],
                                  ssh=sshd_server.ssh_config)
        listing = sorted(p.name for p in folder.iterdir()), folder.stat().st_mtime_ns
        dry = cli("--config", settings, "mailer", "keep", "--dry-run")
        assert dry.exit_code == 0 and "+    options keep fetchall" in dry.stdout and path.read_bytes() == before
        assert "not checked" not in dry.stderr  # fetchmail checked it there, in a private folder:
        assert (sorted(p.name for p in folder.iterdir()), folder.stat().st_mtime_ns) == listing  # nothing beside
        kept = cli("--config", settings, "--json", "mailer", "keep")
        assert kept.exit_code == 0, kept.stderr
        assert kept.json["files"][0]["file"] == sshd_server.location(str(link))
        assert "options keep fetchall" in path.read_text() and link.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in folder.iterdir()) == ["fetchmailrc", "link"]
        reverted = cli("--config", settings, "mailer", "revert")
        assert reverted.exit_code == 0, reverted.stderr
        assert path.read_bytes() == before

        path.write_text(FETCHMAILRC.replace("fetchall", "fetchall frobnicate"))  # only fetchmail itself objects
        vetoed = fingerprint(path)
        line = assert_refused(cli("--config", settings, "mailer", "keep"), "fetchmail rejects", "line 5")
        assert "s3cret" not in line and fingerprint(path) == vetoed
        assert sorted(p.name for p in folder.iterdir()) == ["fetchmailrc", "link"]  # its temp file is gone

        path.write_text(FETCHMAILRC)
        folder.chmod(0o555)
        try:
            assert_refused(cli("--config", settings, "mailer", "keep"), "read-only")
        finally:
            folder.chmod(0o755)

        path.write_text("garbage\n")
        garbage = fingerprint(path)
        assert_refused(cli("--config", settings, "mailer", "keep"), sshd_server.location(str(link)), ":1:")
        assert fingerprint(path) == garbage
        missing = write_settings(tmp_path, [{"kind": "fetchmail", "file": sshd_server.location(str(folder / "no"))}],
                                 ssh=sshd_server.ssh_config)
        assert_refused(cli("--config", missing, "mailer", "keep"), "no such file")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- IMAP synchronisers: mbsync and OfflineIMAP against Dovecot's IMAP --------------------------


@dataclass
class Syncer:
    config: Path
    sync: Callable[[], None]
    maildir: Path  # the local INBOX


def mbsync_syncer(folder: Path, server) -> Syncer:
    folder.mkdir(mode=0o700)
    rc, mail = folder / "mbsyncrc", folder / "Mail"
    mail.mkdir()
    rc.write_text(
        "# mbsync for the trip test: expunges on both sides\n"
        "Create Near\nExpunge Both\nSyncState *\n\n"
        f"IMAPAccount rig\nHost 127.0.0.1\nPort {server.imap_port}\nUser {server.user}\n"
        f'PassCmd "echo {server.password}"\nSSLType None\nAuthMechs LOGIN\n\n'
        "IMAPStore rig-remote\nAccount rig\n\n"
        f"MaildirStore rig-local\nPath {mail}/\nInbox {mail}/INBOX\n\n"
        "Channel rig\nFar :rig-remote:\nNear :rig-local:\nPatterns INBOX\n")
    rc.chmod(0o600)

    def sync():
        done = subprocess.run(["mbsync", "-q", "-c", str(rc), "rig"], capture_output=True, text=True, timeout=60,
                              env={"HOME": str(folder), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stdout + done.stderr

    return Syncer(rc, sync, mail / "INBOX")


def offlineimap_syncer(folder: Path, server) -> Syncer:
    folder.mkdir(mode=0o700)
    rc, mail = folder / "offlineimaprc", folder / "Mail"
    mail.mkdir()
    rc.write_text(
        "# offlineimap for the trip test: deletions go both ways, the server expunges\n"
        f"[general]\naccounts = rig\nmetadata = {folder}/metadata\nui = quiet\n\n"
        "[Account rig]\nlocalrepository = rig-local\nremoterepository = rig-remote\n\n"
        f"[Repository rig-local]\ntype = Maildir\nlocalfolders = {mail}\n\n"
        f"[Repository rig-remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {server.imap_port}\n"
        f"remoteuser = {server.user}\nremotepass = {server.password}\nssl = no\nstarttls = no\n"
        "folderfilter = lambda folder: folder == 'INBOX'\n")
    rc.chmod(0o600)

    def sync():
        done = subprocess.run(["offlineimap", "-c", str(rc), "-o", "-u", "quiet"], capture_output=True, text=True,
                              timeout=60, env={"HOME": str(folder), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0 and "ERROR" not in done.stderr, done.stdout + done.stderr

    return Syncer(rc, sync, mail / "INBOX")


SYNCERS = {"mbsync": mbsync_syncer, "offlineimap": offlineimap_syncer}


def _local(syncer: Syncer) -> dict[str, Path]:
    """Subject → file of every message in the local INBOX."""
    found = {}
    for sub in ("cur", "new"):
        for path in (syncer.maildir / sub).iterdir():
            subject = next(line for line in path.read_text().splitlines() if line.startswith("Subject: "))
            found[subject.removeprefix("Subject: ")] = path
    return found


def _delete_locally(syncer: Syncer, subject: str) -> None:
    _local(syncer)[subject].unlink()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(SYNCERS))
def test_sync_keeps_locally_deleted_mail_on_the_server_and_back(kind, dovecot_imap, tmp_path, cli):
    need_programs(kind)
    server = dovecot_imap
    syncer = SYNCERS[kind](tmp_path / kind, server)
    original, original_mode = syncer.config.read_bytes(), stat.S_IMODE(syncer.config.stat().st_mode)
    settings = tmp_path / "travelsync.yaml"
    settings.write_text(yaml.safe_dump({
        "repository": str(tmp_path / "repository"), "sources": [{"name": "home", "path": str(tmp_path)}],
        "mailer": [{"kind": kind, "file": str(syncer.config)}]}))

    server.put(3)
    syncer.sync()
    assert sorted(_local(syncer)) == ["test message 1", "test message 2", "test message 3"]
    _delete_locally(syncer, "test message 1")
    syncer.sync()
    assert "test message 1" not in server.imap_messages(), "the original config should expunge on the server"

    dry = cli("--config", settings, "mailer", "keep", "--dry-run")
    assert dry.exit_code == 0 and "not checked" not in dry.stderr, dry.stderr
    assert syncer.config.read_bytes() == original
    kept = cli("--config", settings, "--json", "mailer", "keep")
    assert kept.exit_code == 0, kept.stderr
    assert kept.json["files"][0]["mode_before"] == "delete" and kept.json["files"][0]["mode"] == "keep"
    assert stat.S_IMODE(syncer.config.stat().st_mode) == original_mode

    _delete_locally(syncer, "test message 2")
    syncer.sync()
    syncer.sync()
    assert "test message 2" in server.imap_messages(), "after keep a message deleted locally stays on the server"

    reverted = cli("--config", settings, "mailer", "revert")
    assert reverted.exit_code == 0, reverted.stderr
    assert syncer.config.read_bytes() == original

    if "test message 2" in _local(syncer):  # offlineimap forgets the deletion and fetches it again
        _delete_locally(syncer, "test message 2")
    syncer.sync()
    assert "test message 2" not in server.imap_messages(), "after revert the deletion reaches the server again"
    assert "test message 3" in server.imap_messages() and "test message 3" in _local(syncer)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["mpop", "fetchmail", "getmail", "mbsync", "offlineimap"])
def test_remote_files_are_checked_there_by_the_clients_own_reading(kind, cli, sshd_server, tmp_path):
    """Each checker runs on the other machine (getmail's and OfflineIMAP's readers as python -c,
    mpop on the neutralised copy, mbsync's parse); what a reader prints comes back to be
    compared; nothing of the user's runs there either."""
    need_programs(kind)
    from tests.unit.test_mail_checks import CLIENTS

    folder = Path(tempfile.mkdtemp(prefix="travelsync-remote-"))
    try:
        marker = folder / "marker"
        name, make, mode = CLIENTS[kind]
        text = make(marker)
        path = client_file(folder, Path(name).name, text, mode)
        settings = write_settings(tmp_path, [{"kind": kind, "file": sshd_server.location(str(path))}],
                                  ssh=sshd_server.ssh_config)
        warned = 3 if kind == "mpop" else 0  # mpop: a warning about its eval line (it may set keep off)
        dry = cli("--config", settings, "mailer", "keep", "--dry-run")
        assert dry.exit_code == warned and "not checked" not in dry.stderr, dry.stderr
        kept = cli("--config", settings, "--json", "mailer", "keep")
        assert kept.exit_code == warned, kept.stderr
        assert kept.json["files"][0]["mode"] == "keep" and path.read_text() != text
        assert cli("--config", settings, "mailer", "revert").exit_code == 0
        assert path.read_text() == text and not marker.exists()
        assert sorted(p.name for p in folder.iterdir() if p.name != "offlineimap-helper.py") == [path.name]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
