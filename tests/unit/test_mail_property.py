"""Property tests on generated config files: keep then revert gives back the original bytes,
and keep twice equals keep once.

Other client modules reuse the checks: in your own test file,

    from hypothesis import given
    from tests.unit.test_mail_property import check_keep_revert_round_trip
    @given(my_generated_files())
    def test_thunderbird_round_trip(text):
        check_keep_revert_round_trip(thunderbird, text)
"""

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import need_programs

from travelsync.mail.clients import fetchmail, getmail, mpop
from travelsync.mail.model import DELETE, KEEP
from travelsync.mail.service import is_pop

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the cases that also run the client program on every example
READER_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_keep_revert_round_trip(module, text: str, only: frozenset[str] = frozenset(),
                                 selected: Callable[[str], bool] | None = None,
                                 reading: Callable[[str], list[str]] | None = None) -> None:
    """The contract every client module keeps, on any file its parser accepts.

    With `only`, `selected(account name)` is the test's own statement of the selection rule
    (an oracle written apart from the module): exactly the selected POP accounts keep after keep,
    every other account reads as before.  `reading(text)`, when given, is the client program's
    own reading of a text (one mode per account, in file order): it must read the same."""
    plan = module.plan_keep(text, only)
    again = module.plan_keep(plan.new_text, only)
    assert again.changes == () and again.new_text == plan.new_text, "keep twice differs from keep once"
    assert module.plan_revert(plan.new_text, plan.changes).new_text == text, "revert is not byte-exact"
    before, after = module.accounts(text), module.accounts(plan.new_text)
    assert [(a.name, a.protocol) for a in after] == [(a.name, a.protocol) for a in before], "accounts changed"
    if only:
        assert selected is not None, "an `only` case needs the selection rule as an oracle"
    chosen = [selected(a.name) if only else True for a in before]
    expected = [KEEP if pick and is_pop(a) else a.mode for a, pick in zip(before, chosen)]
    for index, (account, pick) in enumerate(zip(after, chosen)):
        # an account not chosen that inherits the setting (mpop's `account b : a`) keeps too, said in a warning
        if not pick and account.mode == KEEP != expected[index]:
            assert any(w.startswith(f"account {account.name}: not chosen, but it inherits") for w in plan.warnings)
            expected[index] = KEEP
    assert [a.mode for a in after] == expected, "keep did not switch exactly the selected POP accounts"
    if reading is not None:
        assert reading(text) == [a.mode for a in before], "the client itself reads the file differently"
        assert reading(plan.new_text) == expected, "the client itself reads the edited file differently"
    if not plan.changes:
        assert plan.new_text == text, "no changes, yet the text differs"


def run_reader(argv_for: Callable[[Path], list[str]], text: str) -> str:
    """The client program's output for `text` written to a private temp file."""
    need_programs(argv_for(Path("x"))[0])
    with tempfile.TemporaryDirectory(prefix="travelsync-property-") as folder:
        path = Path(folder) / "rc"
        path.write_text(text)
        path.chmod(0o600)
        done = subprocess.run(argv_for(path), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fetchmail_reading(text: str) -> list[str]:
    """fetchmail's own `keep` for every user entry, in file order (`--configdump` prints them so)."""
    return [KEEP if flag == "TRUE" else DELETE
            for flag in re.findall(r"'keep':(TRUE|FALSE)", run_reader(fetchmail.validate_argv, text))]


MPOP_DELIVERY = "defaults\nhost h.example.org\ndelivery maildir /nonexistent/\n"  # mpop -P wants both


def mpop_reading(text: str) -> list[str]:
    """mpop's own `keep` for every account, in file order (`-P` prints them so); the text is read
    after MPOP_DELIVERY, which changes no keep setting."""
    output = run_reader(mpop.validate_argv, MPOP_DELIVERY + text)
    return [KEEP if flag == "on" else DELETE for flag in re.findall(r"^keep = (on|off)$", output, re.M)]


blank = st.sampled_from([" ", "  ", "\t", "\n    ", " \n  "])
comment = st.sampled_from(["", "  # keep this\n", " # no keep, delete \"#\"\n", "\n"])

# -- fetchmail --------------------------------------------------------------------------------

fetch_option = st.sampled_from(["keep", "no keep", "nokeep", "no\n  keep", "fetchall", "ssl", "flush",
                                "no flush", 'mda "/bin/sh -c \'cat # keep\'"', "options", "limit 100"])


@st.composite
def fetchmail_user(draw):
    name = draw(st.sampled_from(['"marc"', "'m.k'", "bob", '"keep"']))
    password = draw(st.sampled_from(['"no keep"', "x", '"#p"']))
    parts = [f"user {name} there with password {password} is me here"]
    parts += draw(st.lists(fetch_option, max_size=4))
    return draw(blank).join(parts)


@st.composite
def fetchmail_file(draw):
    lines = []
    if draw(st.booleans()):
        lines.append("set daemon 300" + draw(comment))
    if draw(st.booleans()):
        server = draw(st.lists(st.sampled_from(["proto pop3", "timeout 60"]), max_size=2, unique=True))
        user = draw(st.lists(st.sampled_from(["keep", "no keep", "flush"]), max_size=2))
        lines.append("defaults " + " ".join(server + user))  # server options first: fetchmail refuses others
    for index in range(draw(st.integers(1, 4))):
        keyword = draw(st.sampled_from(["poll", "skip", "server"]))
        protocol = draw(st.sampled_from(["", " proto pop3", " protocol IMAP", " proto apop", " with proto POP3"]))
        users = draw(st.lists(fetchmail_user(), max_size=3))
        implicit = draw(st.lists(fetch_option, max_size=2)) if not users else []
        entry = f"{keyword} host{index}.example.org{protocol}" + "".join(
            draw(blank) + part for part in users + implicit)
        lines.append(entry + draw(comment))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@PROPERTY_SETTINGS
@given(fetchmail_file(), st.sampled_from(["\n", "\r\n"]))
def test_fetchmail_round_trip(text, line_ending):
    check_keep_revert_round_trip(fetchmail, text.replace("\n", line_ending))


def fetchmail_selects(name: str):
    """fetchmail's selection rule (docs/mailer.md): an entry's whole name, or its host or user."""
    return lambda account: account == name or name in account.split()[1:]


@READER_SETTINGS
@given(fetchmail_file(), st.sampled_from(["marc", "bob", "host1.example.org", "poll host0.example.org user bob",
                                          "poll host0.example.org"]))
def test_fetchmail_round_trip_for_some_accounts(text, name):
    check_keep_revert_round_trip(fetchmail, text, frozenset({name}), fetchmail_selects(name), fetchmail_reading)


# -- getmail ----------------------------------------------------------------------------------

getmail_value = st.sampled_from(["true", "True", "1", "yes", "on", "false", "0", "no", "off"])


@st.composite
def getmail_file(draw):
    retriever = draw(st.sampled_from(["SimplePOP3Retriever", "SimplePOP3SSLRetriever", "SimpleIMAPSSLRetriever",
                                      "MultidropPOP3Retriever"]))
    delimiter = draw(st.sampled_from([" = ", "=", ": ", "   =   "]))
    sections = {
        "retriever": [f"type{delimiter}{retriever}", "server = pop.example.org", "username = marc",
                      "password = delete=true # not a comment"],
        "destination": ["type = Maildir", "path = ~/Mail/"],
    }
    options = draw(st.lists(st.sampled_from(["verbose = 1", "read_all = false", "delete_after = 3",
                                             "message_log = ~/.getmail/log"]), unique=True, max_size=3))
    if draw(st.booleans()):
        key = draw(st.sampled_from(["delete", "Delete", "DELETE"]))
        options.insert(draw(st.integers(0, len(options))), f"{key}{delimiter}{draw(getmail_value)}")
    if options or draw(st.booleans()):
        sections["options"] = options
    order = draw(st.permutations(list(sections)))
    chunks = []
    for name in order:
        body = [draw(st.sampled_from(["", "# delete = true", "; keep"])) for _ in range(1)] + sections[name]
        chunks.append(f"[{name}]\n" + "\n".join(line for line in body if line or draw(st.booleans())))
    return draw(st.sampled_from(["", "# getmailrc\n"])) + "\n\n".join(chunks) + draw(st.sampled_from(["", "\n"]))


@PROPERTY_SETTINGS
@given(getmail_file(), st.sampled_from(["\n", "\r\n"]))
def test_getmail_round_trip(text, line_ending):
    check_keep_revert_round_trip(getmail, text.replace("\n", line_ending))


# -- mpop -------------------------------------------------------------------------------------

mpop_setting = st.sampled_from(["host pop.example.org", "user marc", 'password "keep # delete"', "keep on",
                                "keep off", "keep", "tls on", "killsize 1000", "delivery maildir ~/Mail"])


@st.composite
def mpop_file(draw):
    indent = draw(st.sampled_from(["", "  ", "\t"]))
    lines = []
    if draw(st.booleans()):
        lines.append("defaults")
        lines += [indent + s for s in draw(st.lists(mpop_setting, max_size=3))]
    names = []
    for index in range(draw(st.integers(1, 4))):
        parent = f" : {draw(st.sampled_from(names))}" if names and draw(st.booleans()) else ""
        names.append(f"acct{index}")
        lines.append(f"account acct{index}{parent}")
        lines += [indent + s for s in draw(st.lists(mpop_setting, max_size=4))]
        lines += draw(st.sampled_from([[], [""], ["# keep off"], ["", "# comment", ""]]))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@PROPERTY_SETTINGS
@given(mpop_file(), st.sampled_from(["\n", "\r\n"]))
def test_mpop_round_trip(text, line_ending):
    check_keep_revert_round_trip(mpop, text.replace("\n", line_ending))


@READER_SETTINGS
@given(mpop_file(), st.sampled_from(["acct0", "acct1"]))
def test_mpop_round_trip_for_some_accounts(text, name):
    check_keep_revert_round_trip(mpop, text, frozenset({name}), lambda account: account == name, mpop_reading)
