"""prepare and finalize with a mail client that has no POP account: nothing to switch, no warning."""

import pytest
import yaml

from tests.conftest import need_programs
from tests.integration.test_restore import backup, build_home, write_config, write_mail

pytestmark = pytest.mark.integration

MUTTRC_IMAP = """\
# ~/.muttrc: IMAP only (mutt never deletes on the server by itself here)
set folder = "imaps://marc@imap.example.org/"
set spoolfile = "+INBOX"
set imap_pass = "`pass show mail/imap`"
macro index gi "<change-folder>=INBOX<enter>" "go to the inbox
"""


def test_prepare_and_finalize_with_an_imap_only_client_neither_fail_nor_warn(tmp_path, monkeypatch, cli):
    need_programs("rsync")
    home = build_home(tmp_path, mails=5)
    (home / ".muttrc").write_text(MUTTRC_IMAP)
    config = write_config(tmp_path, home, mailer=False)
    document = yaml.safe_load(config.read_text())
    document["mailer"] = [{"kind": "mutt", "file": str(home / ".muttrc")}]
    document["laptop"]["paths"].append("home/.muttrc")
    config.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("TRAVELSYNC_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(home))
    backup(config, "full", "2026-11-22T02:30:00+00:00")

    dry = cli("--json", "prepare", "--skip-preflight", "--dry-run", env={"TRAVELSYNC_NOW": "2026-11-23T18:00:00+00:00"})
    assert dry.exit_code == 0, dry.stderr
    prepared = cli("--json", "prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": "2026-11-23T18:00:00+00:00"})
    assert prepared.exit_code == 0, prepared.stderr
    assert prepared.json["warnings"] == []
    [mail] = prepared.json["mail"]
    assert mail["mode"] == "none" and not mail["changed"] and mail["notes"]
    assert (home / ".muttrc").read_text() == MUTTRC_IMAP
    said = cli("prepare", "--skip-preflight", "--dry-run", env={"TRAVELSYNC_NOW": "2026-11-23T18:00:00+00:00"})
    assert f"mail: mutt {home / '.muttrc'}: nothing in it deletes mail on the server" in said.stdout + said.stderr

    write_mail(home, "during-the-night.mail", sub="new")
    backup(config, "incremental", "2026-11-24T02:30:00+00:00")
    finalized = cli("--json", "finalize", "--skip-preflight", env={"TRAVELSYNC_NOW": "2026-11-24T07:00:00+00:00"})
    assert finalized.exit_code == 0, finalized.stderr
    assert finalized.json["warnings"] == [] and [m["mode"] for m in finalized.json["mail"]] == ["none"]
