"""mpop (`~/.mpoprc`, `$XDG_CONFIG_HOME/mpop/config`): `keep on` keeps, `keep off`/absent deletes.

One command per line (`#` lines are comments); `defaults` sets values for every account
defined after it, `account b : a` starts from a's settings.  Keep turns an account's own
`keep off` into `keep on`, or adds a `keep on` line after the account's last line when the
account only inherits delete; revert undoes exactly that.  mpop reads only POP3.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from travelsync.mail import textlines
from travelsync.mail.model import DELETE, KEEP, Account, Change, MailConfigError, Plan

KIND = "mpop"
AFTER_TRIP_DELETES_KEPT = True  # `keep off` deletes every message on the server at the next run

_COMMAND = re.compile(r"(?P<command>\S+)(?:[ \t]+(?P<argument>.*))?$")
_LINES = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    start: int  # offset of the line in the text
    raw: str  # with its line ending
    command: str
    argument: str
    argument_start: int  # offset of the argument in the text

    @property
    def indent(self) -> str:
        body = self.raw.rstrip("\r\n")
        return body[: len(body) - len(body.lstrip(" \t"))]

    @property
    def end(self) -> int:
        return self.start + len(self.raw)


@dataclass
class Section:
    kind: str  # "defaults" | "account"
    name: str
    parents: tuple[str, ...]
    header: Line
    lines: list[Line] = field(default_factory=list)
    inherited: dict[str, Line] = field(default_factory=dict)  # setting → line, before its own lines


def _lines(text: str) -> list[Line]:
    if "\x00" in text:
        raise MailConfigError("binary data (NUL byte), not an mpop configuration",
                              text[: text.index("\x00")].count("\n") + 1)
    lines, offset = [], 0
    for number, raw in enumerate(_LINES.findall(text), start=1):
        body = raw.rstrip("\r\n")
        stripped = body.strip(" \t")  # mpop's blanks: a line of a form feed alone is a command to it
        if stripped and not stripped.startswith("#"):
            if "\f" in stripped or "\v" in stripped:
                raise MailConfigError("a form feed or vertical tab: mpop reads it as an unknown command", number)
            if not stripped.replace("\t", " ").isprintable():
                raise MailConfigError("control characters: not an mpop configuration", number)
            indent = len(body) - len(body.lstrip(" \t"))
            parts = _COMMAND.match(body[indent:].rstrip(" \t"))
            command, argument = parts.group("command"), parts.group("argument") or ""
            argument_start = offset + indent + (parts.start("argument") if parts.group("argument") is not None
                                                else parts.end("command"))
            lines.append(Line(number, offset, raw, command, argument, argument_start))
        offset += len(raw)
    return lines


def parse(text: str) -> list[Section]:
    sections: list[Section] = []
    defaults: dict[str, Line] = {}
    by_name: dict[str, Section] = {}
    for line in _lines(text):
        if line.command == "defaults":
            sections.append(Section("defaults", "", (), line))
        elif line.command == "account":
            name, _, parents_text = line.argument.partition(":")
            name = name.strip()
            if not name:
                raise MailConfigError("`account` without a name", line.number)
            parents = tuple(p.strip() for p in parents_text.split(",") if p.strip())
            inherited = dict(defaults)
            for parent in parents:
                if parent not in by_name:
                    raise MailConfigError(f"account {name} inherits from unknown account {parent}", line.number)
                inherited.update(_settings(by_name[parent]))
            section = Section("account", name, parents, line, inherited=inherited)
            sections.append(section)
            by_name[name] = section
        elif not sections:
            raise MailConfigError(f"first command must be account or defaults, not `{line.command[:40]}`",
                                  line.number)
        else:
            sections[-1].lines.append(line)
            if sections[-1].kind == "defaults":
                defaults[line.command] = line
    return sections


def _settings(section: Section) -> dict[str, Line]:
    merged = dict(section.inherited)
    for line in section.lines:
        merged[line.command] = line
    return merged


def _keeps(line: Line | None) -> bool:
    return line is not None and line.argument.strip('"').lower() in ("", "on")


def _own_keep(section: Section) -> Line | None:
    own = [line for line in section.lines if line.command == "keep"]
    return own[-1] if own else None


def _warnings(section: Section) -> tuple[str, ...]:
    warnings = []
    settings = _settings(section)
    killsize = settings.get("killsize")
    if killsize is not None and killsize.argument.strip('"').lower() not in ("", "off", "0"):
        warnings.append(f"account {section.name}: `killsize {killsize.argument}` deletes large messages on the "
                        "server even with `keep on`")
    if "eval" in settings or any(line.command == "eval" for line in section.lines):
        warnings.append(f"account {section.name}: an `eval` line sets whatever its command prints (mpop runs it, "
                        "travelsync does not), which may be `keep off`: check it yourself")
    return tuple(warnings)


def _accounts(text: str) -> list[Section]:
    return [s for s in parse(text) if s.kind == "account"]


def accounts(text: str) -> list[Account]:
    return [Account(s.name, "pop3", KEEP if _keeps(_settings(s).get("keep")) else DELETE, _warnings(s))
            for s in _accounts(text)]


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".mpoprc", config_home / "mpop" / "config"]


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    edits: list[tuple[int, int, str]] = []
    changes, warnings = [], []
    for section in _accounts(text):
        if only and section.name not in only:
            continue
        warnings.extend(_warnings(section))
        own = _own_keep(section)
        if _keeps(_settings(section).get("keep")):
            continue
        if own is not None:
            edits.append((own.argument_start, own.argument_start + len(own.argument), "on"))
            changes.append(Change(section.name, "keep", own.argument, "on"))
        else:
            last = section.lines[-1] if section.lines else section.header
            indent = last.indent if section.lines else ""
            newline = "" if last.raw.endswith("\n") else "\n"
            ending = "\r\n" if last.raw.endswith("\r\n") else "\n"
            edits.append((last.end, last.end, f"{newline}{indent}keep on{ending if not newline else ''}"))
            changes.append(Change(section.name, "keep", None, "keep on"))
    new_text = textlines.splice(text, edits)
    if only and changes:
        warnings.extend(_inherited(text, new_text, only))
    return Plan(new_text, tuple(changes), tuple(warnings))


def _inherited(text: str, new_text: str, only: frozenset[str]) -> list[str]:
    """Accounts not chosen that keep now all the same: `account b : a` copies a's settings, so a
    `keep on` given to a reaches b too (until revert)."""
    before = {a.name: a.mode for a in accounts(text)}
    return [f"account {a.name}: not chosen, but it inherits the `keep on` given to the account it is "
            "defined from, so it keeps mail on the server too until revert"
            for a in accounts(new_text) if a.name not in only and a.mode != before.get(a.name)]


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    sections = {s.name: s for s in _accounts(text)}
    edits, done, warnings = [], [], []
    for change in changes:
        section = sections.get(change.account)
        own = _own_keep(section) if section else None
        if own is None or not _keeps(own):
            warnings.append(f"account {change.account}: no longer has the `keep on` travelsync set; left as it is")
            continue
        if change.before is None:
            if own.raw.endswith("\n"):
                edits.append((own.start, own.end, ""))
            else:  # the last line, without an ending: take the previous line's ending with it
                edits.append((max(own.start - 1, 0), own.end, ""))
        else:
            edits.append((own.argument_start, own.argument_start + len(own.argument), change.before))
        done.append(Change(change.account, change.setting, change.after, change.before))
    return Plan(textlines.splice(text, edits), tuple(done), tuple(warnings))


def validate_argv(path: Path) -> list[str] | None:
    """`-P` prints every account's settings as mpop reads them; it runs `eval` and `passwordeval`
    commands, so it only ever reads a copy passed through `neutralise`."""
    return ["mpop", "-C", str(path), "-P", "--all-accounts"]


_COMMANDS_RUN = re.compile(r"(?m)^([ \t]*)(eval|passwordeval)\b[^\r\n]*")


def neutralise(text: str) -> str:
    """The copy mpop -P reads: `eval` lines become comments and `passwordeval` loses its command,
    line for line, so that the check runs nothing the file names (and asks for no password).
    An empty `passwordeval`, not a `password`: mpop refuses a file holding a password unless
    its mode is 0600, and a file with only a passwordeval may well be 0644."""
    return _COMMANDS_RUN.sub(lambda m: m.group(1) + ("# eval (not run by travelsync's check)"
                                                     if m.group(2) == "eval" else "passwordeval"), text)


_ACCOUNT_DUMP = re.compile(r"^using account (?P<name>.+) from ", re.M)


def confirm(output: str, text: str) -> str | None:
    """mpop's `keep = on/off` for every account against travelsync's reading of the same text."""
    ours = {a.name: a.mode for a in accounts(text)}
    starts = list(_ACCOUNT_DUMP.finditer(output))
    for index, start in enumerate(starts):
        block = output[start.end(): starts[index + 1].start() if index + 1 < len(starts) else len(output)]
        keep = re.search(r"^keep = (\w+)", block, re.M)
        name = start.group("name")
        if keep and name in ours:
            theirs = KEEP if keep.group(1) == "on" else DELETE
            if theirs != ours[name]:
                return f"account {name}: mpop reads keep = {keep.group(1)}, travelsync reads {ours[name]}"
    return None


def refuse_reason(path: Path) -> str | None:
    return None
