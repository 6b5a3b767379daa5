"""The contract every mail client module keeps (travelsync/mail/registry.py), one suite
parametrized over the registry: each client's realistic file (in the style of published ones;
the text lives in its own tests/unit/test_mail_<kind>.py, beside what is particular to it) and
what must be true of it: its accounts, keep's exact bytes and changes, `only`, a revert after
the user edited elsewhere, the files it refuses (with the line), and, where the client's own
program reads its configuration, that program's reading of the kept file.

Adding a client: add its kind to the registry and a `Contract` here; every test runs for it."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import need_programs
from tests.unit import (test_mail_claws, test_mail_evolution, test_mail_fetchmail, test_mail_getmail, test_mail_kmail,
                        test_mail_mbsync, test_mail_mpop, test_mail_mutt, test_mail_offlineimap, test_mail_thunderbird)
from travelsync.mail import registry
from travelsync.mail.apply import neutral
from travelsync.mail.model import DELETE, KEEP, SYNC, UNKNOWN, MailConfigError
from travelsync.mail.service import is_pop


@dataclass(frozen=True)
class Contract:
    text: str  # a realistic file
    accounts: tuple[tuple[str, str, str], ...]  # (name, protocol, mode), in file order
    warnings: dict[str, tuple[str, ...]]  # account → a piece of each of its warnings, in order (absent: none)
    kept: tuple[tuple[str, str], ...]  # replacements that turn `text` into keep's output, byte for byte
    changes: tuple[tuple[str, str, str | None, str | None], ...]  # keep's: (account, setting, before, after)
    plan_warnings: tuple[str, ...]  # a piece of each warning keep gives, in order
    only: tuple[tuple[str, tuple[str, ...]], ...]  # a name in `accounts:` → the accounts keep changes
    user_edit: tuple[str, str]  # an edit of a line keep did not touch, made after keep
    garbage: tuple[tuple[str, int], ...]  # files it refuses, and the line it names (0: none)
    deletes_kept: bool  # AFTER_TRIP_DELETES_KEPT
    checker: str | None = None  # the client program that reads the file (validate_argv), if any
    reads_keep: Callable[[str], bool] | None = None  # the checker's output says every switched account keeps
    disagreement: str = ""  # what `confirm` says of the original when its checker reads the kept file
    default_paths: tuple[dict, tuple[str, ...]] | None = None  # (environ, paths with ~ for the home)
    refuses_nothing: bool = False  # refuse_reason(anything) is None: no lock, no running client to mind


def fetchmail_keeps(output: str) -> bool:
    """fetchmail --configdump: every account, IMAP included, keeps (5 in the realistic file)."""
    return output.count("'keep':TRUE") == 5 and "'keep':FALSE" not in output


def mpop_keeps(output: str) -> bool:
    """mpop -P: every one of the 4 accounts reads `keep = on`."""
    return output.count("keep = on") == 4 and "keep = off" not in output


CONTRACTS = {
    "fetchmail": Contract(
        text=test_mail_fetchmail.REALISTIC,
        accounts=(("poll pop.example.org user marc", "pop3", DELETE),  # inherits defaults `no keep`
                  ("poll imap.work.example user m.k", "imap", KEEP),
                  ("skip old.example.net user old", "pop3", DELETE),
                  ("poll two.example.org user a", "apop", DELETE),  # the last of three wins
                  ("poll two.example.org user b", "apop", KEEP)),
        warnings={"skip old.example.net user old": ("`flush` deletes mail on the server even with `keep`",)},
        # the absent setting gets ` keep` after the user's last token; `nokeep` → `keep` in place; only the
        # deciding (last) one of three changes; the IMAP account, the password "keep#delete" and comments stay
        kept=(("    options ssl fetchall\n", "    options ssl fetchall keep\n"),
              ("options nokeep flush", "options keep flush"),
              ("is marc here no keep keep no keep\n", "is marc here no keep keep keep\n")),
        changes=(("poll pop.example.org user marc", "keep", None, "keep"),
                 ("skip old.example.net user old", "keep", "nokeep", "keep"),
                 ("poll two.example.org user a", "keep", "no keep", "keep")),
        plan_warnings=("`flush`",),
        only=(("marc", ("poll pop.example.org user marc",)), ("nobody", ())),
        user_edit=("timeout 60", "timeout 90"),
        garbage=(("this is not a fetchmailrc\n", 1), ('poll x proto pop3\n user "unterminated password\n', 2),
                 ("set daemon 60\n\x00\x01binary", 2), ("poll\n", 1)),
        deletes_kept=False, checker="fetchmail", reads_keep=fetchmail_keeps,
        default_paths=({}, ("~/.fetchmailrc",)), refuses_nothing=True),
    "getmail": Contract(
        text=test_mail_getmail.REALISTIC,
        accounts=(("marc@pop.example.org", "pop3", DELETE),),
        warnings={},
        kept=(("delete   =  True", "delete   =  false"),),
        changes=(("marc@pop.example.org", "delete", "True", "false"),),
        plan_warnings=(),
        only=(("marc@pop.example.org", ("marc@pop.example.org",)), ("nobody", ())),
        user_edit=("verbose = 1", "verbose = 2"),
        garbage=(("garbage without sections\n", 1), ("[retriever]\ntype = SimplePOP3Retriever\n[retriever]\n", 3),
                 ("[options]\ndelete = true\n", 0),  # no retriever: not a getmailrc
                 ("[retriever]\n\x00\x00", 2)),
        deletes_kept=True, checker="getmail", disagreement="getmail reads delete = false",
        reads_keep=lambda output: json.loads(output)["delete"] is False),
    "thunderbird": Contract(
        text=test_mail_thunderbird.PREFS,
        accounts=(("server1", "none", UNKNOWN), ("server2 marc@pop.example.org", "pop3", DELETE),
                  ("server3", "imap", UNKNOWN), ("server4", "pop3", DELETE), ("server5", "pop3", KEEP),
                  ("server6", "pop3", DELETE)),
        warnings={"server2 marc@pop.example.org": ("14 days",), "server5": ("delete_mail_left_on_server",)},
        # the missing line inserted in its sorted place; false values of POP servers only flipped
        kept=((test_mail_thunderbird.PREFS, test_mail_thunderbird.KEPT),),
        changes=(("server2", "leave_on_server", None, 'user_pref("mail.server.server2.leave_on_server", true);'),
                 ("server4", "leave_on_server", 'user_pref("mail.server.server4.leave_on_server", false);',
                  'user_pref("mail.server.server4.leave_on_server", true);'),
                 ("server6", "leave_on_server", 'user_pref("mail.server.server6.leave_on_server", false);',
                  'user_pref("mail.server.server6.leave_on_server", true);')),
        plan_warnings=("delete_by_age_from_server", "delete_mail_left_on_server"),
        only=(("server4", ("server4",)), ("marc@pop.example.org", ("server2",)), ("nobody", ())),
        user_edit=('server2.check_new_mail", true', 'server2.check_new_mail", false'),
        garbage=(("", 1), ("\n\n   \n", 1), ('user_pref("a", true);\nthis is not javascript\n', 2),
                 ('user_pref("a", true);\nuser_pref("b", \x00\x01\x02);\n', 2),
                 ('user_pref("a", true)\nuser_pref("b", 1);\n', 2), ('user_pref("a", maybe);\n', 1),
                 ('user_pref("a", true);\n/* never closed\n', 2), ('user_pref("a", "unterminated);\n', 1)),
        deletes_kept=True),
    "mpop": Contract(
        text=test_mail_mpop.REALISTIC,
        accounts=(("home", "pop3", DELETE), ("work", "pop3", KEEP), ("old", "pop3", DELETE),
                  ("default", "pop3", DELETE)),  # defaults and inheritance (`account work : home`)
        warnings={"old": ("killsize",)},
        # inserted with the account's indent; the deciding (last) one flipped; defaults untouched
        kept=(("  delivery maildir ~/Mail/inbox\n", "  delivery maildir ~/Mail/inbox\n  keep on\n"),
              ("  killsize 5000000\n  keep off\n", "  killsize 5000000\n  keep on\n"),
              ("account default : home\n", "account default : home\nkeep on\n")),
        changes=(("home", "keep", None, "keep on"), ("old", "keep", "off", "on"), ("default", "keep", None, "keep on")),
        plan_warnings=("killsize",),
        only=(("old", ("old",)), ("nobody", ())),
        user_edit=("user marc", "user marc2"),
        garbage=(("host pop.example.org\n", 1), ("# fine\naccount b : nosuch\n", 2), ("account\n", 1),
                 ("account a\nhost \x01\x02\n", 2)),
        deletes_kept=True, checker="mpop", reads_keep=mpop_keeps, disagreement="mpop reads keep = on",
        default_paths=({}, ("~/.mpoprc", "~/.config/mpop/config")), refuses_nothing=True),
    "mutt": Contract(
        text=test_mail_mutt.MUTTRC,
        accounts=(("muttrc", "pop3", DELETE),),
        warnings={"muttrc": ("pop_last is unset", "line 5: folder-hook sets pop_delete", "line 6: sources ~/.mutt/accounts")},
        kept=(('pop_delete = "yes"  ;', 'pop_delete = "no"  ;'),),  # the value token only: quotes and spacing stay
        changes=(("muttrc", "pop_delete", """set pop_user = 'marc' pop_delete = "yes"  ; set pop_checkinterval=60""",
                  """set pop_user = 'marc' pop_delete = "no"  ; set pop_checkinterval=60"""),),
        plan_warnings=("pop_last", "folder-hook", "sources"),
        only=(("muttrc", ("muttrc",)), ("work", ())),
        user_edit=("set sort=threads\n", "set sort=threads\nset editor=vim\n"),
        garbage=(("set pop_host=x\nthis is not a muttrc\n", 2), ("set pop_host=x\nset pop_delete=maybe\n", 2),
                 ('set pop_host=x\nset pop_pass=`pass show pop\n', 2),  # an unclosed backquote: mutt says so too
                 ("set pop_host=x\n\x00\x01\x02binary", 2), ("set pop_host=x\nset pop_delete=\n", 2),
                 ("\x7fELF\x02\x01\x01", 1)),
        deletes_kept=False,
        default_paths=({"XDG_CONFIG_HOME": "/x"}, ("~/.muttrc", "~/.mutt/muttrc", "/x/mutt/muttrc", "~/.neomuttrc",
                                                   "/x/neomutt/neomuttrc")),
        refuses_nothing=True),
    "claws": Contract(
        text=test_mail_claws.ACCOUNTRC,
        accounts=(("[Account: 1]", "pop3", DELETE), ("[Account: 2]", "imap", UNKNOWN), ("[Account: 3]", "pop3", DELETE),
                  ("[Account: 4]", "pop3", KEEP), ("[Account: 5]", "pop3", DELETE)),
        # no leave time (Account 3): deleted at once, nothing hidden to warn about
        warnings={"[Account: 1]": ("7 days",), "[Account: 5]": ("7 days",)},
        kept=((test_mail_claws.ACCOUNTRC, test_mail_claws.KEPT),),
        changes=(("[Account: 1]", "remove_mail", "remove_mail=1", "remove_mail=0"),
                 ("[Account: 3]", "remove_mail", None, "remove_mail=0"),
                 ("[Account: 5]", "remove_mail", "remove_mail=1", "remove_mail=0")),
        plan_warnings=(),
        only=(("old pop", ("[Account: 3]",)), ("[Account: 1]", ("[Account: 1]",)), ("nobody", ())),
        user_edit=("name=Marc # keep, delete", "name=Marc M."),
        garbage=(("", 1), ("[Account: 1]\nprotocol=0\njust some words\n", 3), ("protocol=0\n[Account: 1]\n", 1),
                 ("[Account: 1]\nprotocol=\x00\x01\n", 2), ("[Common]\nfoo=bar\n", 1)),
        deletes_kept=True, default_paths=({}, ("~/.claws-mail/accountrc",))),
    "evolution": Contract(
        text=test_mail_evolution.POP_SOURCE,
        accounts=(("marc@example.org", "pop3", DELETE),),
        warnings={"marc@example.org": ("DeleteAfterDays=7", "DeleteExpunged=true")},
        kept=(("KeepOnServer = false", "KeepOnServer = true"),),
        changes=(("marc@example.org", "KeepOnServer", "KeepOnServer = false", "KeepOnServer = true"),),
        plan_warnings=("DeleteAfterDays=7", "DeleteExpunged=true"),
        only=(("marc@example.org", ("marc@example.org",)), ("work", ())),
        user_edit=("AutoFetch=true", "AutoFetch=false"),
        garbage=(("", 1), ("KeepOnServer=false\n[Pop Backend]\n", 1), ("[Pop Backend]\nKeepOnServer false\n", 2),
                 ("[Pop Backend\nKeepOnServer=false\n", 1), ("[Data Source]\nDisplayName=\x00\x01\x02\n", 2),
                 ("just words\n", 1)),
        deletes_kept=False),
    "kmail": Contract(
        text=test_mail_kmail.RESOURCE,
        accounts=(("marc@pop.example.org", "pop3", DELETE),),  # no leaveOnServer: delete
        warnings={"marc@pop.example.org": ("leaveOnServerDays=14: keep mode still deletes mail beyond 14 days",)},
        # in KConfig's sorted place in [General], not in the [LeaveOnServer] group
        kept=(("Interval=5\n", "Interval=5\nleaveOnServer=true\n"),),
        changes=(("marc@pop.example.org", "leaveOnServer", None, "leaveOnServer=true"),),
        plan_warnings=("leaveOnServerDays=14",),
        only=(("pop.example.org", ("marc@pop.example.org",)), ("other@example.org", ())),
        user_edit=("000001,000002", "000001,000002,000003"),  # KMail added a seen message
        garbage=(("", 1), ("[General]\nhost pop.example.org\n", 2), ("[General\nhost=x\n", 1),
                 ("[General]\nhost=\x00\x01\n", 2), ("[LeaveOnServer]\nseenUidList=1\n", 1)),
        deletes_kept=True),
    "mbsync": Contract(
        text=test_mail_mbsync.MBSYNCRC,
        accounts=(("fastmail", SYNC, DELETE),  # Expunge Both (global), Remove Both: expunges on the server
                  ("work-inbox", SYNC, KEEP),  # Expunge Slave: only the local side
                  ("work-archive", SYNC, DELETE),  # inherits the global Expunge Both
                  ("local-copy", "maildir", KEEP)),  # no server: never switched
        warnings={},
        # own lines rewritten, lines added for inherited ones; the global settings untouched
        kept=(('Patterns * !"[Gmail]/All Mail"\nRemove Both\n', 'Patterns * !"[Gmail]/All Mail"\nRemove Near\nExpunge Near\n'),
              ("Near :work-local:Archive\n", "Near :work-local:Archive\nExpunge Near\n")),
        changes=(("fastmail", "Expunge", None, "Expunge Near"), ("fastmail", "Remove", "Remove Both", "Remove Near"),
                 ("work-archive", "Expunge", None, "Expunge Near")),
        plan_warnings=(),
        only=(("work-archive", ("work-archive",)), ("nobody", ())),
        user_edit=("SSLType STARTTLS", "SSLType IMAPS"),
        garbage=(("Channel c\nFar :r:\nIMAPStore x\n", 3),  # a section needs a blank line before the next
                 ('IMAPAccount a\nPassCmd "pass show x\n', 2),
                 ("IMAPStore r\nHost h\n\nChannel c\nFar :r:\nNear :r:\nExpunge Sometimes\n", 7),
                 ("Channel c\nNear :x:\n", 1), ("Expunge\n", 1), ("Host x\n\x00\x01", 2)),
        deletes_kept=False, checker="mbsync",
        default_paths=({}, ("~/.mbsyncrc", "~/.config/isyncrc")), refuses_nothing=True),
    "offlineimap": Contract(
        text=test_mail_offlineimap.OFFLINEIMAPRC,
        accounts=(("Personal", SYNC, DELETE), ("Gmail", SYNC, DELETE), ("Archive", SYNC, KEEP)),
        warnings={},
        # values rewritten in place, missing lines added (after a continued value, before a comment)
        kept=(("localfolders = ~/Mail/personal\nsync_deletes = yes\n", "localfolders = ~/Mail/personal\nsync_deletes = no\n"),
              ("                                             'Spam']\n; expunge",
               "                                             'Spam']\nexpunge = no\n; expunge"),
              ("localfolders = ~/Mail/gmail\n\n", "localfolders = ~/Mail/gmail\nsync_deletes = no\n\n"),
              ('remotepasseval = get_pass("gmail")\nexpunge = True\n', 'remotepasseval = get_pass("gmail")\nexpunge = False\n')),
        changes=(("Personal", "[Repository Personal-Local] sync_deletes", "sync_deletes = yes", "sync_deletes = no"),
                 ("Personal", "[Repository Personal-Remote] expunge", None, "expunge = no"),
                 ("Gmail", "[Repository Gmail-Local] sync_deletes", None, "sync_deletes = no"),
                 ("Gmail", "[Repository Gmail-Remote] expunge", "expunge = True", "expunge = False")),
        plan_warnings=(),
        only=(("Gmail", ("Gmail", "Gmail")), ("nobody", ())),
        user_edit=("autorefresh = 5", "autorefresh = 10"),
        garbage=(("[Account A]\nlocalrepository = L\nremoterepository = R\n[Repository L]\ntype = Maildir\n"
                  "[Repository R]\ntype = IMAP\nexpunge = maybe\n", 8),
                 ("[Account A]\nlocalrepository = L\nremoterepository = R\n[Repository L]\ntype = Maildir\n"
                  "[Repository R]\ntype = Maildir\n", 7),
                 ("[Account A]\nlocalrepository = L\nremoterepository = Nowhere\n[Repository L]\ntype = Maildir\n", 3),
                 ("[general]\naccounts = A\n[general]\n", 3), ("accounts = A\n", 1)),
        deletes_kept=False, checker="offlineimap", disagreement="account Personal: offlineimap reads keep, travelsync reads delete",
        reads_keep=lambda output: json.loads(output)["Gmail"]["remote"]["expunge"] is False,
        default_paths=({"XDG_CONFIG_HOME": "/x"}, ("~/.offlineimaprc", "/x/offlineimap/config")),
        refuses_nothing=True),
}

KINDS = list(CONTRACTS)


def test_every_registered_client_has_a_contract():
    assert sorted(CONTRACTS) == sorted(registry.KINDS) == sorted(registry.available())


def kept_text(contract: Contract) -> str:
    text = contract.text
    for old, new in contract.kept:
        assert text.count(old) == 1, f"the replacement {old!r} is not unique"
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("kind", KINDS)
def test_module_constants_and_checker(kind, tmp_path):
    module, contract = registry.client(kind), CONTRACTS[kind]
    assert module.KIND == kind and module.AFTER_TRIP_DELETES_KEPT is contract.deletes_kept
    argv = module.validate_argv(tmp_path / "rc")
    assert (getattr(module, "CHECKER", None) or argv[0] if argv else None) == contract.checker
    if contract.refuses_nothing:
        assert module.refuse_reason(tmp_path / "rc") is None
    if contract.default_paths:
        environ, expected = contract.default_paths
        assert module.default_paths(tmp_path, environ) == [
            Path(p.replace("~", str(tmp_path), 1)) if p.startswith("~") else Path(p) for p in expected]


@pytest.mark.parametrize("kind", KINDS)
def test_accounts_of_the_realistic_file(kind):
    module, contract = registry.client(kind), CONTRACTS[kind]
    found = module.accounts(contract.text)
    assert [(a.name, a.protocol, a.mode) for a in found] == list(contract.accounts)
    for account in found:
        pieces = contract.warnings.get(account.name, ())
        assert len(account.warnings) == len(pieces), account.warnings
        assert all(piece in warning for piece, warning in zip(pieces, account.warnings)), account.warnings


@pytest.mark.parametrize("kind", KINDS)
def test_keep_changes_exactly_the_expected_bytes_and_reverts_to_the_original(kind):
    module, contract = registry.client(kind), CONTRACTS[kind]
    plan = module.plan_keep(contract.text)
    assert plan.new_text == kept_text(contract)
    assert [(c.account, c.setting, c.before, c.after) for c in plan.changes] == list(contract.changes)
    assert len(plan.warnings) == len(contract.plan_warnings)
    assert all(piece in warning for piece, warning in zip(contract.plan_warnings, plan.warnings))
    before = module.accounts(contract.text)
    after = module.accounts(plan.new_text)
    assert [a.mode for a in after] == [KEEP if is_pop(a) else a.mode for a in before]  # only POP (and sync) accounts
    again = module.plan_keep(plan.new_text)
    assert again.changes == () and again.new_text == plan.new_text
    assert module.plan_revert(plan.new_text, plan.changes).new_text == contract.text


@pytest.mark.parametrize("ending", ["crlf", "no-final-newline"])
@pytest.mark.parametrize("kind", KINDS)
def test_line_endings_are_kept(kind, ending):
    module, contract = registry.client(kind), CONTRACTS[kind]
    text = contract.text.replace("\n", "\r\n") if ending == "crlf" else contract.text.rstrip("\n")
    plan = module.plan_keep(text)
    assert len(plan.changes) == len(contract.changes)
    if ending == "crlf":
        assert plan.new_text == kept_text(contract).replace("\n", "\r\n")
    assert module.plan_keep(plan.new_text).changes == ()
    assert module.plan_revert(plan.new_text, plan.changes).new_text == text


@pytest.mark.parametrize("kind", KINDS)
def test_only_the_named_accounts_change(kind):
    module, contract = registry.client(kind), CONTRACTS[kind]
    for name, changed in contract.only:
        plan = module.plan_keep(contract.text, frozenset({name}))
        assert tuple(c.account for c in plan.changes) == changed, name
        assert module.plan_revert(plan.new_text, plan.changes).new_text == contract.text


@pytest.mark.parametrize("kind", KINDS)
def test_revert_after_an_edit_elsewhere_undoes_only_its_own_changes(kind):
    module, contract = registry.client(kind), CONTRACTS[kind]
    old, new = contract.user_edit
    plan = module.plan_keep(contract.text)
    assert plan.new_text.count(old) == 1 and contract.text.count(old) == 1
    undone = module.plan_revert(plan.new_text.replace(old, new), plan.changes)
    assert undone.new_text == contract.text.replace(old, new)
    assert len(undone.changes) == len(plan.changes) and undone.warnings == ()


GARBAGE = [(kind, text, line) for kind, contract in CONTRACTS.items() for text, line in contract.garbage]


@pytest.mark.parametrize("kind, text, line", GARBAGE, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(GARBAGE)])
def test_a_file_that_does_not_parse_is_refused_with_its_line(kind, text, line):
    module = registry.client(kind)
    for read in (module.accounts, module.plan_keep):
        with pytest.raises(MailConfigError) as raised:
            read(text)
        assert raised.value.line == line


CHECKED = [kind for kind, contract in CONTRACTS.items() if contract.checker]


@pytest.mark.parametrize("kind", CHECKED)
def test_the_client_itself_reads_the_kept_file_as_keeping_and_writes_nothing(kind, tmp_path):
    """The client's own reading (on the neutralised copy, as travelsync checks it): it accepts the
    kept file, and reads every switched account as keeping; the folder holds only the file."""
    module, contract = registry.client(kind), CONTRACTS[kind]
    need_programs(contract.checker)
    rc = tmp_path / "rc"
    text = kept_text(contract)
    rc.write_bytes(neutral(module, text.encode()))
    rc.chmod(0o600)
    done = subprocess.run(module.validate_argv(rc), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    if contract.reads_keep:
        assert contract.reads_keep(done.stdout), done.stdout
    confirm = getattr(module, "confirm", None)
    if confirm:
        assert confirm(done.stdout, text) is None
        assert contract.disagreement in (confirm(done.stdout, contract.text) or "")
    assert contract.reads_keep or confirm or kind == "mbsync"  # mbsync prints nothing: its acceptance is the reading
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rc"]
