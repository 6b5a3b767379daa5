"""mutt and neomutt: the `pop_delete` quadoption in a muttrc.

`pop_delete` says what fetch-mail does with downloaded messages: `yes` deletes them on the
server, `no` keeps them, `ask-yes`/`ask-no` ask (the default is ask-no).  It is set with
`set pop_delete=no`, `set pop_delete = "no"`, `set nopop_delete`, `unset pop_delete`,
`set invpop_delete` / `toggle pop_delete` (flip) and `reset pop_delete` / `set &pop_delete`
(back to ask-no); commands run in order, so the last one wins.  `no` is keep and `yes` is
delete; the ask values are UNKNOWN (with a warning): fetch-mail asks at every fetch and the
answer decides, so neither keep nor delete would be true (keep sets `no`, which never asks
and never deletes; revert brings the question back).  The whole file is one
"account" when it uses POP (a `pop_*` variable or a pop:// or pops:// mailbox); files it
`source`s are named in the warnings, not followed.  Without the server's LAST command
(gone since RFC 1725) fetch-mail downloads every message again in keep mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from travelsync.mail import textlines
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Account, Change, MailConfigError, Plan

KIND = "mutt"
AFTER_TRIP_DELETES_KEPT = False  # fetch-mail deletes only what it downloads after the switch back
NAME = "muttrc"
SETTING = "pop_delete"
_VALUES = {"yes", "no", "ask-yes", "ask-no"}
_FLIP = {"yes": "no", "no": "yes", "ask-yes": "ask-no", "ask-no": "ask-yes"}
_COMMANDS = set("""
account-hook alias alternates alternative_order append-hook attachments auto_view bind cd charset-hook
close-hook color crypt-hook echo exec fcc-hook fcc-save-hook finish folder-hook group hdr_order iconv-hook
ifdef ifndef ignore index-format-hook lists macro mailboxes mailto_allow mbox-hook message-hook mime_lookup
mono my_hdr named-mailboxes nospam open-hook push reply-hook reset run save-hook score send-hook send2-hook
set setenv shutdown-hook sidebar_pin sidebar_unpin sidebar_whitelist source spam startup-hook subjectrx
subscribe subscribe-to tag-formats tag-transforms timeout-hook toggle unalias unalternates
unalternative_order unattachments unauto_view unbind uncolor ungroup unhdr_order unhook unignore unlists
unmacro unmailboxes unmailto_allow unmime_lookup unmono unmy_hdr unscore unset unsetenv unsidebar_whitelist
unsubjectrx unsubscribe unsubscribe-from unvirtual-mailboxes virtual-mailboxes version pgp-hook lua lua-source
""".replace("-", "_").split())  # compared with `-` and `_` alike


@dataclass(frozen=True)
class _Word:
    text: str  # after quotes and escapes
    raw: str  # as written
    start: int  # offsets in the file
    end: int
    line: int  # 0-based line where the word starts


@dataclass(frozen=True)
class _Op:
    """One command that sets pop_delete, in file order."""
    kind: str  # value | bare | no | inv | reset | toggle | unset
    value: str | None  # for kind "value"
    target: _Word | None  # the word keep rewrites (None: cannot be rewritten in place)
    replacement: str | None
    line: int  # the line after which a new `set pop_delete=no` may go


@dataclass
class _Parsed:
    ops: list[_Op]
    uses_pop: bool
    last_pop_line: int | None
    pop_last: bool
    warnings: list[str]


# --- tokens: mutt's rules for quotes, escapes, comments and `;` ------------------------------

def _continuation(text: str, i: int) -> int:
    """Length of a backslash-newline continuation at i (0: none)."""
    for ending in ("\\\n", "\\\r\n"):
        if text.startswith(ending, i):
            return len(ending)
    return 0


def _commands(text: str) -> list[list[_Word]]:
    """The file as commands of words; `=` is a word of its own.  Raise MailConfigError."""
    bad = re.search(r"[\x00-\x08\x0e-\x1f\x7f]", text)  # a form feed (page break) is a blank, as for mutt
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise MailConfigError("binary data (not a muttrc?)", line)
    commands, words, i, line = [], [], 0, 0
    while i < len(text):
        char, skip = text[i], _continuation(text, i)
        if skip:
            i, line = i + skip, line + 1
        elif char == "\n" or char == ";":
            if words:
                commands.append(words)
            words, line, i = [], line + (char == "\n"), i + 1
        elif char in " \t\r\f\v":
            i += 1
        elif char == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif char == "=":
            words.append(_Word("=", "=", i, i + 1, line))
            i += 1
        else:
            start, start_line, out = i, line, []
            while i < len(text) and text[i] not in " \t\f\v\n;#=" and not (text[i] == "\r" and text[i + 1:i + 2] == "\n"):
                skip = _continuation(text, i)
                if skip:
                    i, line = i + skip, line + 1
                elif text[i] in "\"'`":
                    quote, i = text[i], i + 1
                    while i < len(text) and text[i] != quote:
                        skip = _continuation(text, i)
                        if skip:
                            i, line = i + skip, line + 1
                        elif text[i] == "\n" or text.startswith("\r\n", i):
                            break  # mutt ends an unclosed quote at the end of the line, and reads on
                        elif text[i] == "\\" and quote != "'" and i + 1 < len(text):
                            out.append(text[i + 1])
                            i += 2
                        else:
                            out.append(text[i])
                            i += 1
                    if i < len(text) and text[i] == quote:
                        i += 1
                    elif quote == "`":  # mutt runs a backquoted command: an unclosed one is an error
                        raise MailConfigError("unterminated ` quote (mutt: mismatched backticks)", line + 1)
                elif text[i] == "\\" and i + 1 < len(text):
                    out.append(text[i + 1])
                    i += 2
                else:
                    out.append(text[i])
                    i += 1
            words.append(_Word("".join(out), text[start:i], start, i, start_line))
    if words:
        commands.append(words)
    return commands


# --- meaning: which commands touch pop_delete ------------------------------------------------

def _quad(word: _Word) -> str:
    value = word.text.lower()
    if value not in _VALUES:
        raise MailConfigError("pop_delete must be yes, no, ask-yes or ask-no, "
                              f"not {word.text!r}", word.line + 1)
    return value


def _set_args(words: list[_Word], command: str, parsed: _Parsed) -> None:
    index = 0
    while index < len(words):
        word = words[index]
        if word.text == "=":
            raise MailConfigError("'=' without a variable name", word.line + 1)
        value = None
        if index + 1 < len(words) and words[index + 1].text == "=":
            if index + 2 >= len(words) or words[index + 2].text == "=":
                raise MailConfigError(f"{word.text} = needs a value", word.line + 1)
            value = words[index + 2]
            index += 3
        else:
            index += 1
        name, prefix = word.text, ""
        for candidate in ("no", "inv", "&", "?"):
            if command == "set" and name.startswith(candidate) and name[len(candidate):].startswith("pop_"):
                prefix, name = candidate, name[len(candidate):]
                break
        query = name.endswith("?")
        name = name.rstrip("?&")
        if name.startswith("pop_") or (value and re.search(r"pops?://", value.text, re.I)):
            parsed.uses_pop = True
            parsed.last_pop_line = (value or word).line
        if name == "pop_last" and not query:
            if command == "set" and prefix == "":
                parsed.pop_last = value is None or value.text.lower() in ("yes", "on", "true")
            elif command in ("set", "toggle") and prefix in ("inv", ""):
                parsed.pop_last = not parsed.pop_last
            else:  # set nopop_last, set &pop_last, unset, reset
                parsed.pop_last = False
        if name != SETTING or query or prefix == "?":
            continue
        line = (value or word).line
        if command == "set" and value is not None:
            if prefix:
                raise MailConfigError(f"{word.text}= takes no value", word.line + 1)
            quoted = value.raw[:1] if value.raw[:1] in "\"'" and value.raw[-1:] == value.raw[:1] else ""
            parsed.ops.append(_Op("value", _quad(value), value, f"{quoted}no{quoted}", line))
        elif command == "set":
            kind = {"": "bare", "no": "no", "inv": "inv", "&": "reset"}[prefix]
            parsed.ops.append(_Op(kind, None, word, "nopop_delete", line))
        else:
            parsed.ops.append(_Op(command, None, None, None, line))


def _parse(text: str) -> _Parsed:
    parsed = _Parsed([], False, None, False, [])
    for words in _commands(text):
        command = words[0].text
        if command.replace("-", "_") not in _COMMANDS:
            raise MailConfigError(f"unknown muttrc command {command[:30]!r}",
                                  words[0].line + 1)
        rest = words[1:]
        if command in ("set", "unset", "reset", "toggle"):
            _set_args(rest, command, parsed)
            continue
        if any(re.search(r"pops?://", word.text, re.I) for word in rest):
            parsed.uses_pop = True
            parsed.last_pop_line = rest[-1].line
        if command == "source" and rest:
            parsed.warnings.append(f"line {words[0].line + 1}: sources {rest[0].text}: not followed; if it sets "
                                   "pop_delete, give it as a mailer entry of its own")
        elif any(SETTING in word.text for word in rest):
            parsed.warnings.append(f"line {words[0].line + 1}: {command} sets pop_delete inside a command "
                                   "string whenever it runs, overriding keep; travelsync does not change it")
    parsed.uses_pop = parsed.uses_pop or bool(parsed.ops)
    return parsed


def _evaluate(ops: Sequence[_Op], rewritten: frozenset[int] = frozenset()) -> str:
    value = "ask-no"
    for index, op in enumerate(ops):
        kind = "no" if index in rewritten else op.kind
        if kind == "value":
            value = op.value
        elif kind == "bare":
            value = "yes"
        elif kind in ("no", "unset"):
            value = "no"
        elif kind in ("inv", "toggle"):
            value = _FLIP[value]
        elif kind == "reset":
            value = "ask-no"
    return value


def _warnings(parsed: _Parsed) -> tuple[str, ...]:
    if parsed.pop_last:
        lead = ("pop_last is set: in keep mode fetch-mail skips old messages only if the server supports "
                "the LAST command (dropped from POP3 by RFC 1725; Dovecot has none)")
    else:
        lead = "pop_last is unset: in keep mode fetch-mail downloads every message on the server again each time"
    return (f"{NAME}: {lead}",) + tuple(f"{NAME}: {w}" for w in parsed.warnings)


def accounts(text: str) -> list[Account]:
    """The whole file as one POP "account" (none when it does not use POP)."""
    parsed = _parse(text)
    if not parsed.uses_pop:
        return []
    value = _evaluate(parsed.ops)
    warnings = _warnings(parsed)
    if value.startswith("ask"):  # fetch-mail asks: the answer decides, so neither keep nor delete
        default = "no" if value == "ask-no" else "yes"
        warnings = (f"{NAME}: pop_delete is {value}: fetch-mail asks at every fetch whether to delete "
                    f"(Enter answers {default}), so the mode depends on the answer; keep sets no",) + warnings
    mode = {"no": KEEP, "yes": DELETE}.get(value, UNKNOWN)
    return [Account(NAME, "pop3", mode, warnings)]


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    """Make the effective pop_delete `no`: rewrite the commands after the last one that says no
    (`pop_delete=yes` → `=no`, `pop_delete`/`invpop_delete`/`&pop_delete` → `nopop_delete`),
    and add `set pop_delete=no` when a reset/toggle or nothing at all decides it."""
    parsed, lines = _parse(text), textlines.split(text)
    if not parsed.uses_pop or (only and NAME not in only):
        return Plan(text)
    warnings = _warnings(parsed)
    if _evaluate(parsed.ops) == "no":
        return Plan(text, (), warnings)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    last_no = max((n for n, op in enumerate(parsed.ops) if op.kind in ("no", "unset")), default=-1)
    rewritten = frozenset(n for n, op in enumerate(parsed.ops) if n > last_no and op.target is not None)
    replace: dict[int, str] = {}
    for index in sorted(rewritten, key=lambda n: -parsed.ops[n].target.start):  # right to left in a line
        op = parsed.ops[index]
        line = op.target.line
        content = replace.get(line, textlines.body(lines[line])[0])
        column = op.target.start - starts[line]
        replace[line] = content[:column] + op.replacement + content[column + len(op.target.raw):]
    changes = [Change(NAME, SETTING, textlines.body(lines[line])[0], new) for line, new in sorted(replace.items())]
    insert: dict[int, list[str]] = {}
    if _evaluate(parsed.ops, rewritten) != "no":
        anchor = parsed.ops[-1].line if parsed.ops else parsed.last_pop_line
        insert[len(lines) if anchor is None else anchor + 1] = [f"set {SETTING}=no"]
        changes.append(Change(NAME, SETTING, None, f"set {SETTING}=no"))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes), warnings)


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, each found (from the end) by the line keep wrote."""
    _parse(text)  # refuse what does not parse
    return textlines.revert_lines(text, [None] * len(textlines.split(text)), changes, lambda change: None)


def validate_argv(path: Path) -> list[str] | None:
    return None  # neither mutt nor neomutt checks a muttrc without starting up


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    """mutt's, then neomutt's usual muttrc places (they may not exist)."""
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".muttrc", home / ".mutt/muttrc", config / "mutt/muttrc",
            home / ".neomuttrc", config / "neomutt/neomuttrc"]


def refuse_reason(path: Path) -> str | None:
    return None  # mutt reads its muttrc only at start: a running mutt is not disturbed
