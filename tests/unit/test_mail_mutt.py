"""mutt/neomutt: pop_delete in all its spellings; the last command wins; other bytes stay."""

import pytest

from travelsync.mail.clients import mutt
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Change

MUTTRC = """\
# ~/.muttrc: keep or delete? a "#" in a comment is just text
set realname="Marc # keep; delete"   # a quoted # is not a comment
set pop_host="pops://marc@pop.example.org"
set pop_user = 'marc' pop_delete = "yes"  ; set pop_checkinterval=60
folder-hook . 'set pop_delete=yes'
source ~/.mutt/accounts
macro index G "<fetch-mail>" "fetch mail # delete?"
set sort=threads
"""


@pytest.mark.parametrize("line, mode, kept", [
    ("set pop_delete=yes", DELETE, "set pop_delete=no"),
    ("set pop_delete=YES", DELETE, "set pop_delete=no"),
    ("set pop_delete=yes\ntoggle pop_delete", KEEP, None),
    ("set pop_delete=ask-yes\ntoggle pop_delete", UNKNOWN, "set pop_delete=no\ntoggle pop_delete\nset pop_delete=no"),
    ("set pop_delete", DELETE, "set nopop_delete"),
    ("set invpop_delete", UNKNOWN, "set nopop_delete"),  # ask-no flipped: ask-yes
    ("set &pop_delete", UNKNOWN, "set nopop_delete"),  # back to the default, ask-no
    ("set pop_delete='ask-yes'", UNKNOWN, "set pop_delete='no'"),
    ("set pop_delete=ask-no # the default, asks", UNKNOWN, "set pop_delete=no # the default, asks"),
    ("set pop_delete=no", KEEP, None),
    ("set nopop_delete", KEEP, None),
    ("unset pop_delete", KEEP, None),
    ("set pop_delete=\"no\"", KEEP, None),
])
def test_every_spelling(line, mode, kept):
    text = "set pop_host=pops://pop.example.org\n" + line + "\n"
    assert mutt.accounts(text)[0].mode == mode
    plan = mutt.plan_keep(text)
    assert plan.new_text == ("set pop_host=pops://pop.example.org\n" + kept + "\n" if kept else text)
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == text


@pytest.mark.parametrize("line, value, enter", [("", "ask-no", "no"), ("set pop_delete=ask-yes", "ask-yes", "yes")])
def test_ask_values_are_unknown_with_a_warning_and_keep_makes_them_no(line, value, enter):
    # mutt asks at every fetch: the answer decides, so travelsync claims neither keep nor delete
    text = f"set pop_host=pops://pop.example.org\n{line}\n"
    [account] = mutt.accounts(text)
    assert account.protocol == "pop3" and account.mode == UNKNOWN
    assert any(f"pop_delete is {value}" in w and f"Enter answers {enter}" in w for w in account.warnings)
    plan = mutt.plan_keep(text)
    assert mutt.accounts(plan.new_text)[0].mode == KEEP
    assert not any("pop_delete is" in w for w in mutt.accounts(plan.new_text)[0].warnings)
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == text


def test_absent_setting_gets_a_line_after_the_last_pop_setting():
    text = "set pop_host=pops://pop.example.org\nset pop_pass=secret\nset sort=threads"
    plan = mutt.plan_keep(text)
    assert plan.new_text == ("set pop_host=pops://pop.example.org\nset pop_pass=secret\nset pop_delete=no\n"
                             "set sort=threads")
    assert plan.changes == (Change("muttrc", "pop_delete", None, "set pop_delete=no"),)
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == text


def test_present_twice_the_last_wins_and_only_what_follows_the_last_no_is_rewritten():
    text = "set pop_host=pops://h\nset pop_delete=no\nset pop_delete=yes\n"
    assert mutt.accounts(text)[0].mode == DELETE
    plan = mutt.plan_keep(text)
    assert plan.new_text == "set pop_host=pops://h\nset pop_delete=no\nset pop_delete=no\n"
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == text
    assert mutt.accounts("set pop_host=pops://h\nset pop_delete=yes\nset pop_delete=no\n")[0].mode == KEEP


def test_toggle_and_reset_cannot_be_rewritten_so_a_set_line_follows_them():
    text = "set pop_host=pops://h\nset pop_delete=no\ntoggle pop_delete\n"
    plan = mutt.plan_keep(text)
    assert plan.new_text == text + "set pop_delete=no\n"
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == text
    reset = "set pop_host=pops://h\r\nreset pop_delete\r\nset sort=date\r\n"
    plan = mutt.plan_keep(reset)
    assert plan.new_text == "set pop_host=pops://h\r\nreset pop_delete\r\nset pop_delete=no\r\nset sort=date\r\n"
    assert mutt.plan_revert(plan.new_text, plan.changes).new_text == reset


def test_continuation_lines_and_pop_mailboxes_count():
    text = "mailboxes \\\n  pops://marc@pop.example.org/ =INBOX\nset sort=threads\n"
    (account,) = mutt.accounts(text)
    assert account.protocol == "pop3" and account.mode == UNKNOWN  # no pop_delete: the default, ask-no
    assert mutt.plan_keep(text).new_text == text.replace("INBOX\n", "INBOX\nset pop_delete=no\n")


def test_a_muttrc_without_pop_has_no_account_and_no_change():
    text = "set imap_user=marc\nset folder=imaps://imap.example.org/\n# pop_delete=yes only in a comment\n"
    assert mutt.accounts(text) == []
    assert mutt.plan_keep(text).changes == ()


def test_pop_last_changes_the_warning():
    text = "set pop_host=pops://h\nset pop_last\n"
    assert any("LAST command" in w for w in mutt.accounts(text)[0].warnings)


def test_revert_leaves_a_value_the_user_changed_since_keep_and_says_so():
    plan = mutt.plan_keep(MUTTRC)
    gone = plan.new_text.replace('pop_delete = "no"', 'pop_delete = "ask-no"')
    undone = mutt.plan_revert(gone, plan.changes)
    assert undone.new_text == gone and undone.changes == () and len(undone.warnings) == 1


def test_default_paths_mutt_then_neomutt_with_xdg(tmp_path):
    # with XDG_CONFIG_HOME: tests/unit/test_mail_contract.py
    assert mutt.default_paths(tmp_path, {})[2] == tmp_path / ".config/mutt/muttrc"


def test_neomutt_commands_with_dash_or_underscore_both_parse():
    text = "set pop_host=pops://h\nalternative-order text/plain\nindex_format_hook x '~A' '%s'\n"
    assert mutt.accounts(text)[0].mode == UNKNOWN
