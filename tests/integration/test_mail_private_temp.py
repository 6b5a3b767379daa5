"""A mail config edited over ssh is never readable by others on its way (issue 15, finding 3).

The remote put wrote its temp copy (the password inside) under the session's umask, 0644,
until `chmod --reference` narrowed it: another user read the password within 8 rounds. The
real sshd runs the real scripts as a real user whose login shell sets umask 022 (a usual
session) and puts a `chmod` first on PATH that records the temp file's mode just before the
script changes it: what it had from its creation, with every byte written.
"""

import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.conftest import need_programs, need_root
from tests.fixtures.sshd import start_sshd, stop_sshd
from tests.fixtures.users import make_user, remove_user
from tests.unit.test_mail_apply import FETCHMAILRC, write_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def watched_user():
    """A user whose ssh sessions run with umask 022 and a recording `chmod` (in a folder anyone
    can read), and an sshd of its own whose authorized_keys that user can read."""
    need_root()
    need_programs("useradd", "userdel", "fetchmail", "/usr/sbin/sshd")
    base = Path(tempfile.mkdtemp(prefix="travelsync-umask-", dir="/tmp"))
    base.chmod(0o755)
    hooks, log = base / "hooks", base / "modes.log"
    hooks.mkdir(mode=0o755)
    log.touch(mode=0o666)
    log.chmod(0o666)
    (hooks / "chmod").write_text("#!/bin/sh\nfor last; do :; done\n"
                                 f"stat -c '%a %n' -- \"$last\" >> {log}\nexec /bin/chmod \"$@\"\n")
    shell = base / "session-shell"
    shell.write_text(f"#!/bin/sh\numask 022\nPATH={hooks}:/usr/bin:/bin\nexport PATH\nexec /bin/sh \"$@\"\n")
    for program in (hooks / "chmod", shell):
        program.chmod(0o755)
    server = start_sshd(base / "sshd")
    (base / "sshd").chmod(0o755)
    (base / "sshd" / "authorized_keys").chmod(0o644)  # sshd reads it as the user logging in
    user = make_user(shell=str(shell), home=str(base / "home"))  # fetchmail wants a home
    mail = base / "mail"
    mail.mkdir(mode=0o700)
    try:
        yield user, mail, log, server
    finally:
        stop_sshd(server)
        remove_user(user)
        shutil.rmtree(base, ignore_errors=True)


def test_the_remote_temp_copies_are_private_from_their_first_byte(cli, tmp_path, watched_user):
    import os

    user, mail, log, sshd_server = watched_user
    rc = mail / "fetchmailrc"
    rc.write_text(FETCHMAILRC)
    rc.chmod(0o600)
    os.chown(mail, user.uid, user.gid)
    os.chown(rc, user.uid, user.gid)
    where = f"{user.name}@{sshd_server.host}:{rc}"
    settings = write_settings(tmp_path, [{"kind": "fetchmail", "file": where}], ssh=sshd_server.ssh_config)

    kept = cli("--config", settings, "mailer", "keep")
    assert kept.exit_code == 0, kept.stderr
    assert "options keep fetchall" in rc.read_text()
    recorded = [line.split(" ", 1) for line in log.read_text().splitlines()]
    puts = [mode for mode, name in recorded if name.startswith(f"{mail}/.fetchmailrc.")]
    checks = [mode for mode, name in recorded if name.startswith("/tmp/travelsync-check.")]
    assert puts and checks, recorded  # the put's temp file beside the config, the checker's copy in /tmp
    assert set(puts + checks) == {"600"}, recorded
    assert stat.S_IMODE(rc.stat().st_mode) == 0o600 and rc.stat().st_uid == user.uid
