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
from dataclasses import dataclass
from pathlib import Path

from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Account, Change, MailConfigError, Plan

KIND = "evolution"
AFTER_TRIP_DELETES_KEPT = False  # switched back, Evolution deletes only what it downloads next

SETTING = "KeepOnServer"
GROUP = "Pop Backend"
_FALSE = {"false", "0"}  # GLib's booleans: true/1 and false/0; anything else reads as the default (true)
_BACKENDS = {"imapx": "imap", "pop": "pop3", "mbox": "local", "maildir": "local", "mh": "local",
             "spool": "local", "spooldir": "local", "nntp": "nntp", "ews": "ews"}


@dataclass(frozen=True)
class _Entry:
    group: str
    key: str  # without a [locale] suffix
    locale: bool
    value: str
    line: int  # 0-based
    value_column: int


# --- lines: every edit keeps the bytes around it -------------------------------------------

def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _body(line: str) -> tuple[str, str]:
    content = line.rstrip("\n").removesuffix("\r")
    return content, line[len(content):]


def _eol(lines: list[str]) -> str:
    return next((_body(line)[1] for line in lines if line.endswith("\n")), "\n")


def _apply(lines: list[str], replace: Mapping[int, str], insert: Mapping[int, Sequence[str]]) -> str:
    """Replace line contents (endings kept) and insert lines before index j (j == len: at end)."""
    eol, out = _eol(lines), []
    for j in range(len(lines) + 1):
        for new in insert.get(j, ()):
            if j == len(lines) and out and not out[-1].endswith("\n"):
                out[-1] += eol
                out.append(new)
            else:
                out.append(new + eol)
        if j < len(lines):
            content, ending = _body(lines[j])
            out.append(replace.get(j, content) + ending)
    return "".join(out)


def _remove(lines: list[str], k: int) -> None:
    if k == len(lines) - 1 and not lines[k].endswith("\n") and k > 0:
        lines[k - 1] = _body(lines[k - 1])[0]
    del lines[k]


# --- parsing ---------------------------------------------------------------------------------

def _parse(text: str) -> tuple[list[_Entry], list[str | None]]:
    """GKeyFile entries and the group of every line; raise MailConfigError(line) on garbage."""
    if not text.strip():
        raise MailConfigError("the file is empty", 1)
    entries, owner, group = [], [], None
    for index, line in enumerate(_lines(text)):
        content = _body(line)[0]
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", content):
            raise MailConfigError("binary data (not an Evolution .source file?)", index + 1)
        stripped = content.strip()
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise MailConfigError(f"unterminated group name {stripped[:40]!r}", index + 1)
            group = stripped[1:-1]
        elif stripped and not stripped.startswith("#"):
            if "=" not in content or not content.split("=", 1)[0].strip():
                raise MailConfigError(f"neither [group] nor key=value: {stripped[:40]!r}",
                                      index + 1)
            if group is None:
                raise MailConfigError("a key before the first [group]", index + 1)
            raw_key, value = content.split("=", 1)
            column = len(raw_key) + 1 + (len(value) - len(value.lstrip()))
            key = raw_key.strip()
            entries.append(_Entry(group, key.split("[", 1)[0], "[" in key, value.strip(), index, column))
        owner.append(group)
    if group is None:
        raise MailConfigError("no [group] at all (not an Evolution .source file?)", 1)
    return entries, owner


def _groups(entries: list[_Entry]) -> dict[str, dict[str, list[_Entry]]]:
    groups: dict[str, dict[str, list[_Entry]]] = {}
    for entry in entries:
        if not entry.locale:
            groups.setdefault(entry.group, {}).setdefault(entry.key, []).append(entry)
    return groups


def _last(settings: dict[str, list[_Entry]], key: str) -> str | None:
    return settings[key][-1].value if settings.get(key) else None


def _name(groups: dict[str, dict[str, list[_Entry]]]) -> str:
    return _last(groups.get("Data Source", {}), "DisplayName") or GROUP


def _warnings(name: str, pop: dict[str, list[_Entry]]) -> tuple[str, ...]:
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
    name, lines = _name(groups), _lines(text)
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
        content = _body(lines[entry.line])[0]
        new = content[:entry.value_column] + "true" + content[entry.value_column + len(entry.value):]
        replace[entry.line] = new
        changes.append(Change(name, SETTING, content, new))
    return Plan(_apply(lines, replace, {}), tuple(changes), warnings)


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, found in [Pop Backend] by the line keep wrote."""
    owner = _parse(text)[1]
    lines, done, warnings = _lines(text), [], []
    limits: dict[tuple[str | None, str | None], int] = {}  # per (scope, text): where the next match ends
    for change in reversed(changes):
        scope = GROUP
        key = (scope, change.after)
        top = min(limits.get(key, len(lines)), len(lines))
        found = None if change.after is None else next(
            (k for k in range(top - 1, -1, -1) if owner[k] == scope and _body(lines[k])[0] == change.after), None)
        if found is None:
            warnings.append(f"{change.account}: {change.setting} no longer reads {change.after!r} "
                            "(changed since keep); left as is")
            continue
        if change.before is None:
            _remove(lines, found)
            del owner[found]
            limits = {other: end - 1 if end > found else end for other, end in limits.items()}
        else:
            lines[found] = change.before + _body(lines[found])[1]
        limits[key] = found
        done.append(Change(change.account, change.setting, change.after, change.before))
    return Plan("".join(lines), tuple(reversed(done)), tuple(reversed(warnings)))


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


def _running_processes(names: set[str], uid: int) -> list[tuple[int, list[str]]]:
    """Processes of `uid` whose argv[0] (or comm) is one of `names`, with their argv."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if os.path.basename(argv[0]) in names or comm in names:
            found.append((int(entry.name), argv))
    return found


def refuse_reason(path: Path) -> str | None:
    """Refuse while evolution-source-registry runs for the file's owner: it owns the files."""
    try:
        uid = path.stat().st_uid
    except OSError:
        uid = os.getuid()
    running = _running_processes({"evolution-source-registry", "evolution-sourc"}, uid)
    if running:
        return (f"evolution-source-registry is running (pid {running[0][0]}) and owns {path.name}; quit Evolution "
                "and stop it first: evolution --force-shutdown")
    return None
