"""fetchmail adapter: parsing, keep plans that touch only the right tokens, exact revert."""

import shutil
import subprocess
from pathlib import Path

import pytest

from travelsync.mail.clients import fetchmail
from travelsync.mail.model import DELETE, KEEP, MailConfigError

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


def test_accounts_modes_protocols_and_warnings():
    accounts = names(REALISTIC)
    assert accounts["poll pop.example.org user marc"].mode == DELETE  # inherits defaults `no keep`
    assert accounts["poll pop.example.org user marc"].protocol == "pop3"
    assert accounts["poll imap.work.example user m.k"].protocol == "imap"
    assert accounts["poll imap.work.example user m.k"].mode == KEEP
    assert accounts["skip old.example.net user old"].mode == DELETE
    assert "flush" in accounts["skip old.example.net user old"].warnings[0]
    assert accounts["poll two.example.org user a"].mode == DELETE  # the last of three wins
    assert accounts["poll two.example.org user b"].mode == KEEP
    assert len(accounts) == 5


def test_keep_changes_only_pop_tokens_and_keeps_every_other_byte():
    plan = fetchmail.plan_keep(REALISTIC)
    new = plan.new_text
    assert {c.account for c in plan.changes} == {
        "poll pop.example.org user marc", "skip old.example.net user old", "poll two.example.org user a"}
    # the absent setting gets ` keep` after the user's last token; the rest is untouched
    assert '    options ssl fetchall keep\n' in new
    assert 'options keep flush' in new  # nokeep → keep, in place
    assert 'is marc here no keep keep keep\n' in new  # only the deciding (last) one changed
    assert "password 'no keep' is marc here keep\n" in new  # IMAP untouched
    assert 'password "keep#delete"' in new and '# the work account' in new
    changed_lines = [(a, b) for a, b in zip(REALISTIC.splitlines(), new.splitlines()) if a != b]
    assert len(changed_lines) == 3 and len(new.splitlines()) == len(REALISTIC.splitlines())
    assert all(a.mode == KEEP for a in fetchmail.accounts(new) if a.protocol != "imap")
    assert [w for w in plan.warnings if "flush" in w]


def test_only_named_accounts_change():
    plan = fetchmail.plan_keep(REALISTIC, only=frozenset({"marc"}))
    assert [c.account for c in plan.changes] == ["poll pop.example.org user marc"]


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


def test_revert_after_the_user_edited_the_file_undoes_only_our_tokens():
    plan = fetchmail.plan_keep(REALISTIC)
    edited = plan.new_text.replace("timeout 60", "timeout 90") + "poll new.example.org proto pop3 user z\n"
    reverted = fetchmail.plan_revert(edited, plan.changes)
    assert reverted.new_text == REALISTIC.replace("timeout 60", "timeout 90") + "poll new.example.org proto pop3 user z\n"


def test_revert_leaves_an_account_the_user_switched_back_alone():
    plan = fetchmail.plan_keep("poll a proto pop3 user u password p is me here no keep\n")
    edited = plan.new_text.replace("here keep", "here no keep")
    reverted = fetchmail.plan_revert(edited, plan.changes)
    assert reverted.new_text == edited and reverted.warnings


def test_entry_without_user_keyword_and_defaults_keep():
    assert fetchmail.accounts("defaults keep\npoll x proto pop3\n")[0].mode == KEEP
    plan = fetchmail.plan_keep("poll x proto pop3 password 'p'\n")
    assert plan.new_text == "poll x proto pop3 password 'p' keep\n"


@pytest.mark.parametrize("text, line", [
    ("this is not a fetchmailrc\n", 1),
    ('poll x proto pop3\n user "unterminated password\n', 2),
    ("set daemon 60\n\x00\x01binary", 2),
    ("poll\n", 1),
])
def test_garbage_is_refused_with_a_line(text, line):
    with pytest.raises(MailConfigError) as caught:
        fetchmail.accounts(text)
    assert caught.value.line == line


def test_keywords_are_lowercase_only():
    # fetchmail itself rejects `Keep`; a quoted "keep" is a string, never the keyword
    assert fetchmail.accounts('poll x proto pop3 user "keep" password "keep"\n')[0].mode == DELETE


def test_fetchmail_itself_agrees_on_the_edited_file(tmp_path):
    plan = fetchmail.plan_keep(REALISTIC)
    rc = tmp_path / "rc"
    rc.write_text(plan.new_text)
    rc.chmod(0o600)
    done = subprocess.run(fetchmail.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert done.stdout.count("'keep':TRUE") == 5  # every account, IMAP included, now keeps
    assert "'keep':FALSE" not in done.stdout


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
