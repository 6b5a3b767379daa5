"""mbsync (isync) `~/.mbsyncrc`: keep = nothing deleted locally is expunged or removed on the server.

mbsync syncs Maildir and IMAP stores through Channels.  A message deleted on one side is
marked deleted on the other (`Sync` … Delete); it is gone from the server only when the
channel *expunges* that side (`Expunge Far|Near|Both`), and a deleted mailbox is deleted
there only with `Remove`.  So keep takes the server side (every side whose store is an
`IMAPStore`) out of each channel's `Expunge` and `Remove`: messages deleted on the laptop or at
home stay on the server, marked deleted, until revert.  `SyncState` and everything else are
left alone.

The file is read as mbsync 1.4 reads it: one `Keyword value…` per line, keywords
case-insensitive, values in "double quotes" with backslash escapes, `#` lines are comments,
a blank line (spaces, tabs or a form feed) ends a section.  Sections: IMAPAccount,
IMAPStore, MaildirStore, Channel, Group.  `Expunge`/`Remove` before or between sections are
global and apply to every channel without its own (isync < 1.4 spells Far/Near Master/Slave,
and keep writes the spelling the file uses).  A channel's own line is rewritten in place;
a channel that inherits the global one gets a line of its own at its end.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from travelsync.mail import textlines
from travelsync.mail.model import DELETE, KEEP, SYNC, Account, Change, MailConfigError, Plan

KIND = "mbsync"
AFTER_TRIP_DELETES_KEPT = False  # switched back, it expunges only what was deleted locally (marked deleted)
CHECKER = "mbsync"

SECTIONS = {"imapaccount": "IMAPAccount", "imapstore": "IMAPStore", "maildirstore": "MaildirStore",
            "channel": "Channel", "group": "Group"}
SETTINGS = ("Expunge", "Remove")  # the operations that delete on a side for good
SIDES = {"far": "far", "master": "far", "near": "near", "slave": "near"}
_BLANK = " \t\f\v\r"


@dataclass(frozen=True)
class Line:
    index: int  # 0-based line number
    keyword: str  # as written
    words: tuple[str, ...]  # the values, quotes and escapes undone
    value_start: int  # column where the values start


@dataclass
class Section:
    kind: str  # lowercase section keyword
    name: str
    header: Line
    lines: list[Line] = field(default_factory=list)

    @property
    def last_index(self) -> int:
        return self.lines[-1].index if self.lines else self.header.index

    def own(self, keyword: str) -> Line | None:
        found = [line for line in self.lines if line.keyword.lower() == keyword.lower()]
        return found[-1] if found else None


@dataclass
class Parsed:
    sections: list[Section]
    globals: list[Line]
    owner: list[str | None]  # per line: "Channel name" etc., None outside sections


def _words(content: str, number: int) -> list[tuple[str, int]]:
    """mbsync's arguments: (word, start column); quoted words keep blanks, backslash escapes."""
    words, i = [], 0
    while i < len(content):
        if content[i] in _BLANK:
            i += 1
            continue
        start, out = i, []
        if content[i] == '"':
            i += 1
            while i < len(content) and content[i] != '"':
                if content[i] == "\\" and i + 1 < len(content):
                    i += 1
                out.append(content[i])
                i += 1
            if i >= len(content):
                raise MailConfigError("missing closing quote", number)
            i += 1
        else:
            while i < len(content) and content[i] not in _BLANK:
                out.append(content[i])
                i += 1
        words.append(("".join(out), start))
    return words


def parse(text: str) -> Parsed:
    """Sections and global settings; raise MailConfigError where mbsync would stop."""
    if "\x00" in text:
        raise MailConfigError("binary data (NUL byte), not an mbsyncrc", text[: text.index("\x00")].count("\n") + 1)
    parsed = Parsed([], [], [])
    current: Section | None = None
    for index, raw in enumerate(textlines.split(text)):
        content = textlines.body(raw)[0]
        number = index + 1
        stripped = content.strip(_BLANK)
        if not stripped:
            current = None  # a blank line ends the section
            parsed.owner.append(None)
            continue
        if stripped.startswith("#"):
            parsed.owner.append(current and f"{SECTIONS[current.kind]} {current.name}")
            continue
        if not stripped.replace("\t", " ").isprintable():
            raise MailConfigError("control characters: not an mbsyncrc", number)
        words = _words(content, number)
        keyword, rest = words[0][0], words[1:]
        if not rest:
            raise MailConfigError(f"{keyword}: parameter missing", number)
        line = Line(index, keyword, tuple(word for word, _ in rest), rest[0][1])
        kind = keyword.lower()
        if kind in SECTIONS and not (current is not None and current.kind == "group" and kind == "channel"):
            if current is not None:
                raise MailConfigError(f"keyword '{keyword}' is not recognized in {SECTIONS[current.kind]} sections "
                                      "(a blank line must end the section before)", number)
            current = Section(kind, line.words[0], line)
            parsed.sections.append(current)
        elif current is None:
            parsed.globals.append(line)
        else:
            current.lines.append(line)
        parsed.owner.append(current and f"{SECTIONS[current.kind]} {current.name}")
    return parsed


def _sides(line: Line | None) -> frozenset[str]:
    """{"far", "near"} named by an Expunge/Remove line (None: not set)."""
    if line is None:
        return frozenset()
    sides: set[str] = set()
    for word in line.words:
        value = word.lower()
        if value == "both":
            sides |= {"far", "near"}
        elif value in SIDES:
            sides.add(SIDES[value])
        elif value != "none":
            raise MailConfigError(f"{line.keyword}: invalid value '{word}' (None, Far, Near or Both)", line.index + 1)
    return frozenset(sides)


def _store_of(channel: Section, side: str) -> str | None:
    """The store name a channel's Far/Near (Master/Slave) line names: ":store:box" → "store"."""
    for line in reversed(channel.lines):
        if SIDES.get(line.keyword.lower()) == side:
            match = re.match(r":([^:]*):", line.words[0])
            if not match:
                raise MailConfigError(f"{line.keyword}: expected :store:[mailbox], not {line.words[0]!r}",
                                      line.index + 1)
            return match.group(1)
    raise MailConfigError(f"channel {channel.name} has no {side} side", channel.header.index + 1)


@dataclass(frozen=True)
class _View:
    channel: Section
    servers: frozenset[str]  # the sides whose store is an IMAPStore
    effective: dict  # setting → (sides, the line that decides: own or global, or None)


def _views(parsed: Parsed) -> list[_View]:
    stores = {s.name: s.kind for s in parsed.sections if s.kind in ("imapstore", "maildirstore")}
    global_lines = {setting: next((line for line in reversed(parsed.globals)
                                   if line.keyword.lower() == setting.lower()), None) for setting in SETTINGS}
    views = []
    for channel in (s for s in parsed.sections if s.kind == "channel"):
        servers = frozenset(side for side in ("far", "near") if stores.get(_store_of(channel, side)) == "imapstore")
        effective = {}
        for setting in SETTINGS:
            line = channel.own(setting) or global_lines[setting]
            effective[setting] = (_sides(line), line)
        views.append(_View(channel, servers, effective))
    return views


def _deletes(view: _View) -> bool:
    return any(sides & view.servers for sides, _ in view.effective.values())


def accounts(text: str) -> list[Account]:
    """One account per Channel; an IMAP sync when one side is an IMAPStore (others: "maildir")."""
    found = []
    for view in _views(parse(text)):
        if not view.servers:
            found.append(Account(view.channel.name, "maildir", KEEP))
            continue
        found.append(Account(view.channel.name, SYNC, DELETE if _deletes(view) else KEEP))
    return found


def _spell(sides: frozenset[str], old_style: bool) -> str:
    if sides == {"far", "near"}:
        return "Both"
    if not sides:
        return "None"
    (side,) = sides
    return {"far": "Master", "near": "Slave"}[side] if old_style else side.capitalize()


def _old_style(channel: Section) -> bool:
    """isync < 1.4 spelling: Master/Slave instead of Far/Near."""
    return any(line.keyword.lower() in ("master", "slave") for line in channel.lines)


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    parsed, lines = parse(text), textlines.split(text)
    replace: dict[int, str] = {}
    insert: dict[int, list[str]] = {}
    changes = []
    for view in _views(parsed):
        channel = view.channel
        if (only and channel.name not in only) or not view.servers:
            continue
        for setting in SETTINGS:
            sides, line = view.effective[setting]
            kept = sides - view.servers
            if kept == sides:
                continue
            value = _spell(kept, _old_style(channel))
            own = channel.own(setting)
            if own is not None:
                before = textlines.body(lines[own.index])[0]
                after = before[: own.value_start] + value
                replace[own.index] = after
                changes.append(Change(channel.name, setting, before, after))
            else:  # it inherits the global line: a line of its own, at the channel's end
                indent = re.match(r"[ \t]*", textlines.body(lines[channel.last_index])[0]).group(0) \
                    if channel.lines else ""
                after = f"{indent}{setting} {value}"
                insert.setdefault(channel.last_index + 1, []).append(after)
                changes.append(Change(channel.name, setting, None, after))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes))


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, each found in its channel by the line keep wrote."""
    parsed = parse(text)
    return textlines.revert_lines(text, parsed.owner, changes, lambda change: f"Channel {change.account}")


_COMMANDS = re.compile(r"(?im)^([ \t]*)(passcmd|usercmd|tunnel)([ \t]+)[^\r\n]*")


def neutralise(text: str) -> str:
    """The copy the check reads: PassCmd/UserCmd/Tunnel name commands; they become harmless values
    (line for line).  mbsync runs them only when it connects, which the check never does."""
    inert = {"passcmd": "Pass travelsync-check", "usercmd": "User travelsync-check", "tunnel": 'Tunnel "true"'}
    return _COMMANDS.sub(lambda m: m.group(1) + inert[m.group(2).lower()], text)


PROBE = "travelsync-check-no-such-channel"
_CHECK = f"""\
command -v mbsync >/dev/null 2>&1 || exit 127
said=$(mbsync -c "$1" {PROBE} 2>&1 </dev/null)
case $said in *"named '{PROBE}'"*) exit 0 ;; esac
printf '%s\\n' "$said" | head -n 1 >&2  # its first complaint: the cause
exit 1
"""


def validate_argv(path: Path) -> list[str] | None:
    """mbsync has no parse-only mode (`--dry-run`, in 1.5, still logs in to the servers and runs
    PassCmd): it is asked for a channel that does not exist, which it answers after reading the
    whole file and before connecting to anything."""
    return ["sh", "-c", _CHECK, "mbsync-check", str(path)]


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".mbsyncrc", config_home / "isyncrc"]


def refuse_reason(path: Path) -> str | None:
    return None  # mbsync reads its file at every run and never writes it
