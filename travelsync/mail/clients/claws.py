"""Claws Mail: `remove_mail` of POP accounts in ~/.claws-mail/accountrc.

accountrc has one `[Account: N]` section per account with `key=value` lines (no spaces
around `=`: Claws compares `name=` literally).  `protocol=0` is POP3 (1 and 2, APOP and RPOP,
are POP too); `remove_mail=1` (the default) deletes downloaded mail from the server,
after `message_leave_time` days and `message_leave_hour` hours, `remove_mail=0` keeps it.
Claws keeps its settings in memory and writes accountrc back, so nothing is edited while it
runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from travelsync.mail import processes, textlines
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Account, Change, MailConfigError, Plan

KIND = "claws"
AFTER_TRIP_DELETES_KEPT = True  # remove_mail=1 again: the next check deletes what was kept

SETTING = "remove_mail"
_HEADER = re.compile(r"^Account: *\d+$")
_PROTOCOLS = {0: "pop3", 1: "pop3", 2: "pop3", 3: "imap", 4: "nntp", 5: "local", 6: "none"}


@dataclass(frozen=True)
class _Entry:
    section: str
    key: str
    value: str
    line: int  # 0-based


# --- parsing ---------------------------------------------------------------------------------

def _parse(text: str) -> tuple[list[_Entry], list[str | None]]:
    """Entries, and the section of every line; raise MailConfigError(line) on garbage."""
    if not text.strip():
        raise MailConfigError("the file is empty", 1)
    entries, owner, section = [], [], None
    for index, line in enumerate(textlines.split(text)):
        content = textlines.body(line)[0]
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", content):
            raise MailConfigError("binary data (not a Claws accountrc?)", index + 1)
        stripped = content.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif stripped and not stripped.startswith("#"):
            if "=" not in content or content.startswith("="):
                raise MailConfigError(f"neither [Account: N] nor key=value: {stripped[:40]!r}",
                                      index + 1)
            if section is None:
                raise MailConfigError("setting before the first [Account: N]", index + 1)
            key, value = content.split("=", 1)
            entries.append(_Entry(section, key, value, index))
        owner.append(section)
    if not any(_HEADER.match(e.section) for e in entries):
        raise MailConfigError("no [Account: N] section (not a Claws accountrc?)", 1)
    return entries, owner


def _number(value: str) -> int:
    """Claws reads numbers and booleans with atoi(): leading digits, else 0."""
    match = re.match(r"\s*([+-]?\d+)", value)
    return int(match.group(1)) if match else 0


def _sections(entries: list[_Entry]) -> dict[str, dict[str, list[_Entry]]]:
    sections: dict[str, dict[str, list[_Entry]]] = {}
    for entry in entries:
        if _HEADER.match(entry.section):
            sections.setdefault(entry.section, {}).setdefault(entry.key, []).append(entry)
    return sections


def _last(settings: dict[str, list[_Entry]], key: str, default: str) -> str:
    found = settings.get(key)
    return found[-1].value if found else default


def _protocol(settings: dict[str, list[_Entry]]) -> str:
    return _PROTOCOLS.get(_number(_last(settings, "protocol", "0")), "unknown")


def _warnings(name: str, settings: dict[str, list[_Entry]]) -> tuple[str, ...]:
    if _number(_last(settings, SETTING, "1")) == 0:
        return ()
    days = _number(_last(settings, "message_leave_time", "7"))
    hours = _number(_last(settings, "message_leave_hour", "0"))
    if days or hours:
        return (f"{name}: remove_mail=1 with message_leave_time={days} message_leave_hour={hours}: mail is deleted "
                f"from the server {days} days {hours} hours after download (switched back, the next check deletes "
                "kept mail older than that)",)
    return ()


def _aliases(section: str, settings: dict[str, list[_Entry]]) -> set[str]:
    names = {f"[{section}]", section}
    for key in ("account_name", "address"):
        if _last(settings, key, ""):
            names.add(_last(settings, key, ""))
    user, host = _last(settings, "user_id", ""), _last(settings, "receive_server", "")
    if user and host:
        names.add(f"{user}@{host}")
    return names


def accounts(text: str) -> list[Account]:
    """Every [Account: N] with its protocol and, for POP, its mode."""
    found = []
    for section, settings in _sections(_parse(text)[0]).items():
        name, protocol = f"[{section}]", _protocol(settings)
        if protocol != "pop3":
            found.append(Account(name, protocol, UNKNOWN))
            continue
        mode = KEEP if _number(_last(settings, SETTING, "1")) == 0 else DELETE
        found.append(Account(name, protocol, mode, _warnings(name, settings)))
    return found


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    """Set remove_mail=0 in the POP accounts (all, or those named in `only`)."""
    entries = _parse(text)[0]
    lines = textlines.split(text)
    replace: dict[int, str] = {}
    insert: dict[int, list[str]] = {}
    changes = []
    for section, settings in _sections(entries).items():
        name = f"[{section}]"
        if _protocol(settings) != "pop3" or (only and not (_aliases(section, settings) & only)):
            continue
        own = settings.get(SETTING, [])
        if own and _number(own[-1].value) == 0:
            continue
        last_keep = max((n for n, entry in enumerate(own) if _number(entry.value) == 0), default=-1)
        for entry in own[last_keep + 1:]:  # the lines that make it delete (the last one wins)
            content = textlines.body(lines[entry.line])[0]
            new = content[:len(entry.key) + 1] + "0"
            replace[entry.line] = new
            changes.append(Change(name, SETTING, content, new))
        if not own:
            at = max(e.line for e in entries if e.section == section) + 1
            insert.setdefault(at, []).append(f"{SETTING}=0")
            changes.append(Change(name, SETTING, None, f"{SETTING}=0"))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes))


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, each found in its account by the line keep wrote."""
    return textlines.revert_lines(text, _parse(text)[1], changes, _section_of)


def _section_of(change: Change) -> str:
    return change.account.removeprefix("[").removesuffix("]")  # "[Account: 1]" → "Account: 1"


def validate_argv(path: Path) -> list[str] | None:
    return None  # Claws has no command-line checker for accountrc


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    return [home / ".claws-mail" / "accountrc"]


# --- is Claws running? -----------------------------------------------------------------------

def _runtime_dir(environ: Mapping[str, str]) -> Path:
    """g_get_user_runtime_dir(): $XDG_RUNTIME_DIR, else the user cache folder."""
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"])
    return Path(environ.get("XDG_CACHE_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".cache")


def _socket_answers(path: Path) -> bool:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(1.0)
    try:
        client.connect(str(path))
    except OSError:
        return False  # absent, or stale (left by a crash): nobody listens
    finally:
        client.close()
    return True


def refuse_reason(path: Path) -> str | None:
    """Refuse while Claws runs for this configuration folder: it writes accountrc back from
    memory.  Claws listens on $XDG_RUNTIME_DIR/claws-mail/<md5 of the folder> (older
    versions: a socket named claws-mail there); a claws-mail process of the file's owner
    counts too."""
    rc_dir = str(path.parent)
    base = _runtime_dir(os.environ) / "claws-mail"
    candidates = [base / hashlib.md5(rc_dir.encode()).hexdigest(), base]
    for candidate in candidates:
        if candidate.is_socket() and _socket_answers(candidate):
            return f"Claws Mail is running (it answers on {candidate}); quit it first"
    try:
        uid = path.stat().st_uid
    except OSError:
        uid = os.getuid()
    pids = [pid for pid, _argv in processes.running({"claws-mail"}, uid)]
    if pids:
        return f"Claws Mail is running (pid {pids[0]}); quit it first"
    return None
