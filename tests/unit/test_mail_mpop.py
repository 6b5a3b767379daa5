"""mpop adapter: defaults and inheritance, `keep on` inserted or flipped, exact revert."""

import shutil
import subprocess
from pathlib import Path

import pytest

from travelsync.mail.clients import mpop
from travelsync.mail.model import DELETE, KEEP, MailConfigError

REALISTIC = """\
# mpop: "keep" and "delete" in a comment # too
defaults
  tls on
  tls_trust_file /etc/ssl/certs/ca-certificates.crt
  delivery mda "/usr/bin/procmail -f '%F'"
  keep off

account home
  host pop.example.org
  user marc
  password "keep # delete"
  delivery maildir ~/Mail/inbox

account work : home
  host pop.work.example
  keep on

account old
  host pop.old.example
  keep off
  killsize 5000000
  keep off

account default : home
"""


def modes(text):
    return {a.name: a.mode for a in mpop.accounts(text)}


def test_modes_follow_defaults_and_inheritance():
    assert modes(REALISTIC) == {"home": DELETE, "work": KEEP, "old": DELETE, "default": DELETE}
    old = [a for a in mpop.accounts(REALISTIC) if a.name == "old"][0]
    assert "killsize" in old.warnings[0]


def test_keep_inserts_or_flips_and_keeps_everything_else():
    plan = mpop.plan_keep(REALISTIC)
    new = plan.new_text
    assert "  delivery maildir ~/Mail/inbox\n  keep on\n\naccount work" in new  # inserted, same indent
    assert "  keep off\n  killsize 5000000\n  keep on\n" in new  # the deciding (last) one flipped
    assert new.endswith("account default : home\nkeep on\n")
    assert "  tls_trust_file /etc/ssl/certs/ca-certificates.crt\n  delivery mda \"/usr/bin/procmail -f '%F'\"\n  keep off\n" in new
    assert [(c.account, c.before) for c in plan.changes] == [("home", None), ("old", "off"), ("default", None)]
    assert set(modes(new).values()) == {KEEP}
    assert mpop.plan_keep(new).changes == ()
    assert mpop.plan_revert(new, plan.changes).new_text == REALISTIC


def test_last_line_without_newline_round_trips():
    text = "account a\nhost h\nkeep off"
    plan = mpop.plan_keep(text)
    assert plan.new_text == "account a\nhost h\nkeep on"
    text = "account a\nhost h"
    plan = mpop.plan_keep(text)
    assert plan.new_text == "account a\nhost h\nkeep on"
    assert mpop.plan_revert(plan.new_text, plan.changes).new_text == text


def test_keep_without_value_means_on():
    assert modes("account a\nkeep\n") == {"a": KEEP}


def test_only_named_accounts():
    plan = mpop.plan_keep(REALISTIC, only=frozenset({"old"}))
    assert [c.account for c in plan.changes] == ["old"]


def test_revert_after_edits_undoes_only_ours():
    plan = mpop.plan_keep(REALISTIC)
    edited = plan.new_text.replace("user marc", "user marc2")
    assert mpop.plan_revert(edited, plan.changes).new_text == REALISTIC.replace("user marc", "user marc2")


@pytest.mark.parametrize("text, line", [
    ("host pop.example.org\n", 1),
    ("# fine\naccount b : nosuch\n", 2),
    ("account\n", 1),
    ("account a\nhost \x01\x02\n", 2),
])
def test_garbage_is_refused(text, line):
    with pytest.raises(MailConfigError) as caught:
        mpop.accounts(text)
    assert caught.value.line == line


def test_mpop_itself_reads_the_edited_file(tmp_path):
    rc = tmp_path / "mpoprc"
    rc.write_text(mpop.plan_keep(REALISTIC).new_text)
    rc.chmod(0o600)
    done = subprocess.run(mpop.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("keep = on") == 4 and "keep = off" not in done.stdout, done.stdout


def test_default_paths():
    assert mpop.default_paths(Path("/h"), {}) == [Path("/h/.mpoprc"), Path("/h/.config/mpop/config")]


def test_an_account_defined_from_a_chosen_one_keeps_too_and_the_plan_says_so():
    # found by the property test's oracle: `account b : a` copies a's settings, so the `keep on`
    # given to a alone reached b too, and nothing said so
    text = "account a\nhost h\naccount b : a\naccount c\nhost h\n"
    plan = mpop.plan_keep(text, only=frozenset({"a"}))
    assert modes(plan.new_text) == {"a": KEEP, "b": KEEP, "c": DELETE}
    assert [c.account for c in plan.changes] == ["a"]
    assert plan.warnings == ("account b: not chosen, but it inherits the `keep on` given to the account it is "
                             "defined from, so it keeps mail on the server too until revert",)
    assert mpop.plan_keep(text).warnings == ()  # all chosen: nothing to say
