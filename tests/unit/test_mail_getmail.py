"""getmail6 adapter: the `[options] delete` value, POP only, exact revert, getmail's own rules."""

import json
import subprocess

import pytest

from tests.conftest import need_programs
from travelsync.mail.clients import getmail
from travelsync.mail.model import DELETE, KEEP, MailConfigError

REALISTIC = """\
# getmailrc for the provider -- "delete" and keep # in comments
[retriever]
type = SimplePOP3SSLRetriever
server = pop.example.org
username = marc
password = delete=true # not a comment

[destination]
type = Maildir
path = ~/Mail/inbox/

[options]
; delete = false   (an old comment)
verbose = 1
delete   =  True
delete_after = 0
message_log = ~/.getmail/log
"""


@pytest.mark.parametrize("options", ["", "[options]\nverbose = 0\n", "[options]\ndelete = false\n",
                                     "[options]\ndelete: no\n"])
def test_absent_or_false_already_keeps(options):
    text = REALISTIC.split("[options]")[0] + options
    assert getmail.accounts(text)[0].mode == KEEP
    assert getmail.plan_keep(text).changes == () and getmail.plan_keep(text).new_text == text


def test_twice_is_refused_like_getmail_does():
    with pytest.raises(MailConfigError) as caught:
        getmail.accounts(REALISTIC + "delete = yes\n")
    assert caught.value.line == REALISTIC.count("\n") + 1


def test_imap_retriever_is_never_changed():
    text = REALISTIC.replace("SimplePOP3SSLRetriever", "SimpleIMAPSSLRetriever")
    assert getmail.accounts(text)[0].protocol == "imap"
    assert getmail.plan_keep(text).new_text == text


def test_settings_that_still_delete_are_warned_about():
    text = REALISTIC.replace("delete_after = 0", "delete_after = 30\ndelete_bigger_than = 1000000")
    warnings = getmail.accounts(text)[0].warnings
    assert len(warnings) == 2 and "delete_after = 30" in warnings[0]
    assert getmail.plan_keep(text).warnings == warnings


def test_revert_when_the_user_changed_delete_again_leaves_it():
    plan = getmail.plan_keep(REALISTIC)
    edited = plan.new_text.replace("=  false", "=  0")
    reverted = getmail.plan_revert(edited, plan.changes)
    assert reverted.new_text == edited and reverted.changes == () and reverted.warnings


def test_default_paths_list_every_rc_in_the_folder(tmp_path):
    folder = tmp_path / "cfg" / "getmail"
    folder.mkdir(parents=True)
    for name in ("getmailrc-work", "getmailrc", "oldmail-x"):
        (folder / name).write_text("")
    paths = getmail.default_paths(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert paths[:2] == [folder / "getmailrc", folder / "getmailrc-work"]
    assert paths[2] == tmp_path / ".getmail" / "getmailrc"


def test_a_default_section_sets_delete_for_options_as_in_getmail(tmp_path):
    text = "[DEFAULT]\ndelete = true\n\n" + REALISTIC.replace("delete   =  True\n", "")
    assert "True" not in REALISTIC.replace("delete   =  True\n", "")
    assert getmail.accounts(text)[0].mode == DELETE  # getmail's RawConfigParser reads it for [options]
    plan = getmail.plan_keep(text)
    assert plan.new_text.startswith("[DEFAULT]\ndelete = false\n")
    assert getmail.plan_revert(plan.new_text, plan.changes).new_text == text
    need_programs("getmail")  # getmail's own reading agrees
    rc = tmp_path / "getmailrc"
    rc.write_text(text)
    done = subprocess.run(getmail.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert json.loads(done.stdout)["delete"] is True and getmail.confirm(done.stdout, text) is None
