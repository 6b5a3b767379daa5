"""KMail: `leaveOnServer` of an Akonadi POP3 resource (~/.config/akonadi_pop3_resource_<N>rc).

One KConfig file per POP account; its `[General]` group holds `leaveOnServer=true` (keep)
or `false` / no line at all (delete, the default).  KConfig writes a group's keys sorted,
so a missing line is inserted in sorted position.  `leaveOnServerDays`, `…Count` and
`…Size` still delete mail beyond those limits in keep mode.  The running resource
rewrites its file from memory, so nothing is edited while it runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from travelsync.mail import keyfile, processes, textlines
from travelsync.mail.keyfile import Entry
from travelsync.mail.model import DELETE, KEEP, Account, Change, MailConfigError, Plan

KIND = "kmail"
AFTER_TRIP_DELETES_KEPT = True  # leaveOnServer=false again: the next check deletes what was kept
ONE_FILE_PER_ACCOUNT = True  # without `file:`, every akonadi_pop3_resource_<N>rc is switched

SETTING = "leaveOnServer"
GROUP = "General"
_TRUE = {"true", "on", "yes", "1"}
_LIMITS = {"leaveOnServerDays": "days", "leaveOnServerCount": "messages", "leaveOnServerSize": "MB"}


# --- parsing ---------------------------------------------------------------------------------

def _parse(text: str) -> tuple[list[Entry], list[str | None]]:
    """KConfig entries and the group of every line; raise MailConfigError(line) on garbage."""
    entries, owner = keyfile.scan(text, "a KConfig file", keys_before_groups=True)
    if not any(entry.group == GROUP for entry in entries):
        raise MailConfigError(f"no [{GROUP}] group with settings (not a POP3 resource file?)", 1)
    return entries, owner


def _general(entries: list[Entry]) -> dict[str, list[Entry]]:
    settings: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.group == GROUP:
            settings.setdefault(entry.key, []).append(entry)
    return settings


def _last(settings: dict[str, list[Entry]], key: str) -> str | None:
    return settings[key][-1].value if settings.get(key) else None


def _name(settings: dict[str, list[Entry]]) -> str:
    login, host = _last(settings, "login"), _last(settings, "host")
    if host:
        return f"{login}@{host}" if login else host
    return GROUP


def _warnings(name: str, settings: dict[str, list[Entry]]) -> tuple[str, ...]:
    warnings = []
    for key, unit in _LIMITS.items():
        match = re.fullmatch(r"[+-]?\d+", _last(settings, key) or "")
        if match and int(match.group()) > 0:
            warnings.append(f"{name}: {key}={int(match.group())}: keep mode still deletes mail beyond "
                            f"{int(match.group())} {unit}")
    return tuple(warnings)


def accounts(text: str) -> list[Account]:
    """The one POP account of this resource file, with its mode."""
    settings = _general(_parse(text)[0])
    name = _name(settings)
    mode = KEEP if (_last(settings, SETTING) or "").lower() in _TRUE else DELETE
    return [Account(name, "pop3", mode, _warnings(name, settings))]


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    """Set leaveOnServer=true (unless `only` names other accounts)."""
    entries = _parse(text)[0]
    settings, lines = _general(entries), textlines.split(text)
    name = _name(settings)
    if only and not ({name, _last(settings, "host") or name} & only):
        return Plan(text)
    warnings = _warnings(name, settings)
    own = settings.get(SETTING, [])
    if own and own[-1].value.lower() in _TRUE:
        return Plan(text, (), warnings)
    replace: dict[int, str] = {}
    insert: dict[int, list[str]] = {}
    changes = []
    last_keep = max((n for n, entry in enumerate(own) if entry.value.lower() in _TRUE), default=-1)
    for entry in own[last_keep + 1:]:  # the lines that make it delete (the last one wins)
        content = textlines.body(lines[entry.line])[0]
        new = content[:entry.value_column] + "true" + content[entry.value_column + len(entry.value):]
        replace[entry.line] = new
        changes.append(Change(name, SETTING, content, new))
    if not own:
        group_entries = [e for e in entries if e.group == GROUP]
        before = [e.line for e in group_entries if e.key < SETTING]
        at = max(before) + 1 if before else group_entries[0].line
        insert[at] = [f"{SETTING}=true"]
        changes.append(Change(name, SETTING, None, f"{SETTING}=true"))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes), warnings)


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, found in [General] by the line keep wrote."""
    return textlines.revert_lines(text, _parse(text)[1], changes, lambda change: GROUP)


def validate_argv(path: Path) -> list[str] | None:
    return None  # no command-line checker for Akonadi resource files


def _number(path: Path) -> int:
    match = re.search(r"_(\d+)rc$", path.name)
    return int(match.group(1)) if match else 1 << 30


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    """Every akonadi_pop3_resource_<N>rc, native then Flatpak, in resource order."""
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    found = []
    for folder in (config, home / ".var/app/org.kde.kmail2/config"):
        if folder.is_dir():
            found += sorted(folder.glob("akonadi_pop3_resource_*rc"), key=_number)
    return found


def refuse_reason(path: Path) -> str | None:
    """Refuse while this resource's akonadi_pop3_resource process runs (it rewrites the file)."""
    identifier = path.name.removesuffix("rc")
    try:
        uid = path.stat().st_uid
    except OSError:
        uid = os.getuid()
    for pid, argv in processes.running({"akonadi_pop3_resource", "akonadi_pop3_re"}, uid):
        named = argv[argv.index("--identifier") + 1] if "--identifier" in argv[:-1] else None
        if named in (None, identifier):
            return (f"the Akonadi resource {identifier} is running (pid {pid}) and rewrites {path.name}; "
                    "stop it first: akonadictl stop")
    return None
