"""fetchmail adapter: parsing, keep plans that touch only the right tokens, exact revert."""

from pathlib import Path

import pytest

from travelsync.mail.clients import fetchmail
from travelsync.mail.model import DELETE, KEEP

REALISTIC = """\
# ~/.fetchmailrc of marc -- "keep" and "delete" in a comment, and a # too
set daemon 600
set logfile "/home/marc/.fetchmail.log"   # keep the log
set postmaster "marc"

defaults proto pop3 timeout 60 no keep
    mda "/usr/bin/procmail -d %T"

# the provider's POP box: deletes after download today
poll pop.example.org with proto pop3 port 995 auth password:
    user "marc" there with password "keep#delete" is marc here
    options ssl fetchall

# the work account already keeps (IMAP): must never be touched
poll imap.work.example with protocol IMAP
    user 'm.k' there with password 'no keep' is marc here keep

skip old.example.net proto pop3
    user "old" password "x" is marc here options nokeep flush

poll two.example.org proto apop
    user "a" there with password "p1" is marc here no keep keep no keep
    user "b" there with password "p2" is marc here keep
"""


def names(text):
    return {a.name: a for a in fetchmail.accounts(text)}


@pytest.mark.parametrize("options, expected_before", [
    ("", None),  # absent
    ("no keep", "no keep"),  # once
    ("nokeep fetchall no keep", "no keep"),  # twice: the last one is changed
    ("keep fetchall no\n      keep", "no\n      keep"),  # `no` and `keep` on two lines
])
def test_keep_then_revert_is_exact(options, expected_before):
    text = f'poll p.example.org proto pop3\n  user "u" password "pw" is me here {options}\n'
    plan = fetchmail.plan_keep(text)
    assert [c.before for c in plan.changes] == [expected_before]
    assert fetchmail.plan_keep(plan.new_text).changes == ()
    assert fetchmail.plan_revert(plan.new_text, plan.changes).new_text == text


def test_revert_after_the_user_added_an_account_undoes_only_our_tokens():
    plan = fetchmail.plan_keep(REALISTIC)
    added = "poll new.example.org proto pop3 user z\n"  # an edit elsewhere: tests/unit/test_mail_contract.py
    assert fetchmail.plan_revert(plan.new_text + added, plan.changes).new_text == REALISTIC + added


def test_revert_leaves_an_account_the_user_switched_back_alone():
    plan = fetchmail.plan_keep("poll a proto pop3 user u password p is me here no keep\n")
    edited = plan.new_text.replace("here keep", "here no keep")
    reverted = fetchmail.plan_revert(edited, plan.changes)
    assert reverted.new_text == edited and reverted.warnings


def test_entry_without_user_keyword_and_defaults_keep():
    assert fetchmail.accounts("defaults keep\npoll x proto pop3\n")[0].mode == KEEP
    plan = fetchmail.plan_keep("poll x proto pop3 password 'p'\n")
    assert plan.new_text == "poll x proto pop3 password 'p' keep\n"


def test_keywords_are_lowercase_only():
    # fetchmail itself rejects `Keep`; a quoted "keep" is a string, never the keyword
    assert fetchmail.accounts('poll x proto pop3 user "keep" password "keep"\n')[0].mode == DELETE


def test_default_paths_honour_fetchmailhome(tmp_path):
    paths = fetchmail.default_paths(Path("/home/m"), {"FETCHMAILHOME": str(tmp_path)})
    assert paths == [tmp_path / "fetchmailrc", Path("/home/m/.fetchmailrc")]


def test_entries_without_a_protocol_are_auto_and_switched_imap_ones_are_not():
    text = ('poll auto.example.org user "a" password "p" is me here\n'
            'poll imap.example.org protocol IMAP user "b" password "p" is me here\n')
    found = {a.name: a for a in fetchmail.accounts(text)}
    assert found["poll auto.example.org user a"].protocol == "auto"
    plan = fetchmail.plan_keep(text)
    assert [c.account for c in plan.changes] == ["poll auto.example.org user a"]
    assert plan.new_text == text.replace("is me here\npoll imap", "is me here keep\npoll imap")
    assert fetchmail.plan_revert(plan.new_text, plan.changes).new_text == text
