"""Evolution: `KeepOnServer` of POP accounts in ~/.config/evolution/sources/*.source.

Every account is one GKeyFile `.source` file; a POP account has a `[Pop Backend]` group
whose `KeepOnServer=true` keeps mail on the server and `false` deletes it (Camel's default,
with no line, is true).  `DeleteAfterDays` (more than 0) and `DeleteExpunged=true` still
delete mail in keep mode.  The evolution-source-registry service owns these files: it holds
them in memory and writes them back, so nothing is edited while it runs (refused, not just
warned: an edit it does not see is lost or silently ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from travelsync.mail import keyfile, processes, textlines
from travelsync.mail.keyfile import Entry
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Account, Change, MailConfigError, Plan

KIND = "evolution"
AFTER_TRIP_DELETES_KEPT = False  # switched back, Evolution deletes only what it downloads next
ONE_FILE_PER_ACCOUNT = True  # without `file:`, every POP .source file is switched

SETTING = "KeepOnServer"
GROUP = "Pop Backend"
_FALSE = {"false", "0"}  # GLib's booleans: true/1 and false/0; anything else reads as the default (true)
_BACKENDS = {"imapx": "imap", "pop": "pop3", "mbox": "local", "maildir": "local", "mh": "local",
             "spool": "local", "spooldir": "local", "nntp": "nntp", "ews": "ews"}


# --- parsing ---------------------------------------------------------------------------------

def _parse(text: str) -> tuple[list[Entry], list[str | None]]:
    """GKeyFile entries and the group of every line; raise MailConfigError(line) on garbage."""
    entries, owner = keyfile.scan(text, "an Evolution .source file", keys_before_groups=False)
    if not any(group is not None for group in owner):
        raise MailConfigError("no [group] at all (not an Evolution .source file?)", 1)
    return entries, owner


def _groups(entries: list[Entry]) -> dict[str, dict[str, list[Entry]]]:
    groups: dict[str, dict[str, list[Entry]]] = {}
    for entry in entries:
        if not entry.suffixed:
            groups.setdefault(entry.group, {}).setdefault(entry.key, []).append(entry)
    return groups


def _last(settings: dict[str, list[Entry]], key: str) -> str | None:
    return settings[key][-1].value if settings.get(key) else None


def _name(groups: dict[str, dict[str, list[Entry]]]) -> str:
    return _last(groups.get("Data Source", {}), "DisplayName") or GROUP


def _warnings(name: str, pop: dict[str, list[Entry]]) -> tuple[str, ...]:
    warnings = []
    days = _last(pop, "DeleteAfterDays") or "0"
    if re.fullmatch(r"[+-]?\d+", days) and int(days) > 0:
        warnings.append(f"{name}: DeleteAfterDays={int(days)}: keep mode still deletes mail older than "
                        f"{int(days)} days from the server")
    if (_last(pop, "DeleteExpunged") or "").lower() in ("true", "1"):
        warnings.append(f"{name}: DeleteExpunged=true: deleting a message in Evolution deletes it on the "
                        "server too, even in keep mode")
    return tuple(warnings)


def _is_keep(value: str | None) -> bool:
    return value is None or value.rstrip() not in _FALSE


def accounts(text: str) -> list[Account]:
    """The account this .source file describes (none when it is not a mail account)."""
    entries, owner = _parse(text)
    groups = _groups(entries)
    name = _name(groups)
    if GROUP in owner:
        pop = groups.get(GROUP, {})
        mode = KEEP if _is_keep(_last(pop, SETTING)) else DELETE
        return [Account(name, "pop3", mode, _warnings(name, pop))]
    backend = _last(groups.get("Mail Account", {}), "BackendName")
    if backend is None:
        return []
    return [Account(name, _BACKENDS.get(backend, backend), UNKNOWN)]


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    """Set KeepOnServer=true in [Pop Backend] (unless `only` names other accounts)."""
    entries, owner = _parse(text)
    groups = _groups(entries)
    name, lines = _name(groups), textlines.split(text)
    if GROUP not in owner or (only and name not in only):
        return Plan(text)
    pop = groups.get(GROUP, {})
    warnings = _warnings(name, pop)
    own = pop.get(SETTING, [])
    if _is_keep(_last(pop, SETTING)):
        return Plan(text, (), warnings)
    replace: dict[int, str] = {}
    changes = []
    last_keep = max((n for n, entry in enumerate(own) if _is_keep(entry.value)), default=-1)
    for entry in own[last_keep + 1:]:  # the lines that make it delete (the last one wins)
        content = textlines.body(lines[entry.line])[0]
        new = content[:entry.value_column] + "true" + content[entry.value_column + len(entry.value):]
        replace[entry.line] = new
        changes.append(Change(name, SETTING, content, new))
    return Plan(textlines.rebuild(lines, replace, {}), tuple(changes), warnings)


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, found in [Pop Backend] by the line keep wrote."""
    return textlines.revert_lines(text, _parse(text)[1], changes, lambda change: GROUP)


def validate_argv(path: Path) -> list[str] | None:
    return None  # Evolution has no command-line checker for .source files


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    """Every .source file with a [Pop Backend] group (native, then Flatpak)."""
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    found = []
    for folder in (config / "evolution/sources", home / ".var/app/org.gnome.Evolution/config/evolution/sources"):
        for path in sorted(folder.glob("*.source")) if folder.is_dir() else ():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                if any(line.strip() == f"[{GROUP}]" for line in text.splitlines()):
                    found.append(path)
            except OSError:
                continue
    return found


def refuse_reason(path: Path) -> str | None:
    """Refuse while evolution-source-registry runs for the file's owner: it owns the files."""
    try:
        uid = path.stat().st_uid
    except OSError:
        uid = os.getuid()
    running = processes.running({"evolution-source-registry", "evolution-sourc"}, uid)
    if running:
        return (f"evolution-source-registry is running (pid {running[0][0]}) and owns {path.name}; quit Evolution "
                "and stop it first: evolution --force-shutdown")
    return None
