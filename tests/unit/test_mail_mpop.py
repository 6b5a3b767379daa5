"""mpop adapter: defaults and inheritance, `keep on` inserted or flipped, exact revert."""

from travelsync.mail.clients import mpop
from travelsync.mail.model import DELETE, KEEP

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
