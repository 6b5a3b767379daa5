"""OfflineIMAP `~/.offlineimaprc`: keep = nothing deleted locally is deleted or expunged on the server.

Each `[Account A]` syncs its `localrepository` with its `remoterepository`; a repository of
type IMAP or Gmail is a server.  A message deleted in one repository is deleted in the other
unless the deleting side says `sync_deletes = no`, and an IMAP repository expunges what is
marked deleted unless it says `expunge = no`.  Keep makes both true for every account with a
server: the repository opposite each server gets `sync_deletes = no`, the server gets
`expunge = no` (a `readonly = yes` server is never changed by OfflineIMAP: nothing to do).
An existing value is rewritten in place (`yes` → `no`, `True` → `False`, …); an absent one
gets a line of its own at the end of its repository section.  A repository shared by two
accounts is changed once.

The file is read as Python's configparser reads it for OfflineIMAP (travelsync.mail.inifile),
`[DEFAULT]` values included; `pythonfile` is never loaded and no `*eval` setting evaluated.
"""

import re
from pathlib import Path
from typing import Mapping, Sequence

from travelsync.mail import inifile, textlines
from travelsync.mail.model import DELETE, KEEP, SYNC, Account, Change, MailConfigError, Plan

KIND = "offlineimap"
AFTER_TRIP_DELETES_KEPT = False  # switched back, it deletes on the server only what was deleted locally
CHECKER = "offlineimap"

SERVER_TYPES = {"IMAP", "Gmail"}
LOCAL_TYPES = {"Maildir", "GmailMaildir"}
BOOLEANS = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}
FALSE_OF = {"yes": "no", "Yes": "No", "YES": "NO", "true": "false", "True": "False", "TRUE": "FALSE",
            "on": "off", "On": "Off", "ON": "OFF", "1": "0"}
_SETTING = re.compile(r"^\[(?P<section>[^]]+)\] (?P<key>\S+)$")


def _parse(text: str):
    return inifile.parse(text, "an offlineimaprc", "offlineimap")


def _get(sections, section: str, key: str):
    """The option as configparser finds it: the section's own, else [DEFAULT]'s (None: absent)."""
    return sections.get(section, {}).get(key) or sections.get("DEFAULT", {}).get(key)


def _boolean(sections, section: str, key: str, default: bool) -> bool:
    option = _get(sections, section, key)
    if option is None:
        return default
    value = BOOLEANS.get(option.value.lower())
    if value is None:
        raise MailConfigError(f"[{section}] {key} must be yes or no, not {option.value!r}", option.line)
    return value


def _repository(sections, account: str, side: str) -> tuple[str, str]:
    """(section name, type) of an account's local or remote repository."""
    option = _get(sections, f"Account {account}", f"{side}repository")
    if option is None:
        raise MailConfigError(f"[Account {account}] has no {side}repository", 0)
    section = f"Repository {option.value}"
    kind = _get(sections, section, "type")
    if section not in sections or kind is None:
        raise MailConfigError(f"[Account {account}] names repository {option.value!r}, which has no [{section}] "
                              "with a type", option.line)
    allowed = SERVER_TYPES if side == "remote" else LOCAL_TYPES | {"IMAP"}  # offlineimap's type maps
    if kind.value.strip() not in allowed:
        raise MailConfigError(f"[{section}] type {kind.value!r} is not a {side} repository type of offlineimap",
                              kind.line)
    return section, kind.value.strip()


def _needed(sections, account: str) -> list[tuple[str, str]] | None:
    """The (repository section, key) settings that must be false for keep; None: no server."""
    local, remote = _repository(sections, account, "local"), _repository(sections, account, "remote")
    needed = []
    for server, other in ((remote, local), (local, remote)):
        if server[1] not in SERVER_TYPES:
            continue
        if _boolean(sections, server[0], "readonly", False):
            needed.append(())  # a server offlineimap never changes
            continue
        needed += [(other[0], "sync_deletes"), (server[0], "expunge")]
    return None if not needed else [n for n in needed if n]


def _accounts(sections) -> list[str]:
    return [name[len("Account "):] for name in sections if name.startswith("Account ")]


def accounts(text: str) -> list[Account]:
    sections = _parse(text)
    found = []
    for account in _accounts(sections):
        needed = _needed(sections, account)
        if needed is None:
            found.append(Account(account, "maildir", KEEP))
            continue
        deletes = any([_boolean(sections, section, key, True) for section, key in needed])  # every value read
        found.append(Account(account, SYNC, DELETE if deletes else KEEP))
    return found


def _owner(text: str) -> list[str | None]:
    """The section of every line (continuation and comment lines included)."""
    owner, current = [], None
    for raw in textlines.split(text):
        stripped = textlines.body(raw)[0].strip()
        header = re.fullmatch(r"\[(?P<name>[^]]+)\]", stripped) if raw[:1] not in " \t" else None
        if header:
            current = header.group("name")
        owner.append(current)
    return owner


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    sections, lines, owner = _parse(text), textlines.split(text), _owner(text)
    replace: dict[int, str] = {}
    insert: dict[int, list[str]] = {}
    changes, done = [], set()
    for account in _accounts(sections):
        if only and account not in only:
            continue
        for section, key in _needed(sections, account) or ():
            if (section, key) in done or not _boolean(sections, section, key, True):
                continue
            done.add((section, key))
            setting = f"[{section}] {key}"
            own = sections[section].get(key)
            if own is not None:
                index = own.line - 1
                before = textlines.body(lines[index])[0]
                start = own.value_start - sum(len(line) for line in lines[:index])
                after = before[:start] + FALSE_OF.get(own.value, "no") + before[start + len(own.value):]
                replace[index] = after
                changes.append(Change(account, setting, before, after))
            else:
                last = max(k for k, name in enumerate(owner) if name == section and _is_content(lines[k]))
                after = f"{key} = no"
                insert.setdefault(last + 1, []).append(after)
                changes.append(Change(account, setting, None, after))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes))


def _is_content(line: str) -> bool:
    stripped = textlines.body(line)[0].strip()
    return bool(stripped) and stripped[0] not in "#;"


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, each found in its repository section by the line keep wrote."""
    _parse(text)  # refuse what does not parse

    def scope(change: Change) -> str | None:
        match = _SETTING.match(change.setting)
        return match.group("section") if match else None

    return textlines.revert_lines(text, _owner(text), changes, scope)


def validate_argv(path: Path) -> list[str] | None:
    """OfflineIMAP's own config parser (checkers/offlineimap_read.py), with its interpreter."""
    from travelsync.mail.checkers import script_argv

    return script_argv("offlineimap", "offlineimap_read.py", path)


def confirm(output: str, text: str) -> str | None:
    """OfflineIMAP's reading (the reader's JSON) against travelsync's, account by account."""
    import json

    try:
        read = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "its reader printed no settings"
    for account in accounts(text):
        repositories = read.get(account.name)
        if account.protocol != SYNC or repositories is None:
            continue
        deletes = False
        for server, other in (("remote", "local"), ("local", "remote")):
            if repositories[server]["type"] in SERVER_TYPES and not repositories[server]["readonly"]:
                deletes = deletes or repositories[other]["sync_deletes"] or repositories[server]["expunge"]
        theirs = DELETE if deletes else KEEP
        if theirs != account.mode:
            return f"account {account.name}: offlineimap reads {theirs}, travelsync reads {account.mode}"
    return None


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".offlineimaprc", config_home / "offlineimap" / "config"]


def refuse_reason(path: Path) -> str | None:
    return None  # offlineimap reads its file at start and never writes it
