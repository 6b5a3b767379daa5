"""fetchmail (`~/.fetchmailrc`): `keep` leaves mail on the server, `no keep`/absent deletes it.

The file is read as fetchmail's lexer reads it: words split on blanks and `= ; : ,`,
quoted strings with backslash escapes, `#` a comment only where a token would start,
keywords lowercase.  Entries start at `poll`/`server`/`skip`/`defaults` and end at the
next entry or `set`; inside an entry every `user`/`username` starts a user section.  The
last `keep`/`no keep`/`nokeep` of a user section wins; otherwise the `defaults` entry's
last one; otherwise delete.  Keep edits one token (or inserts ` keep` after the section's
last token); revert finds the section again by its name and undoes exactly that.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from travelsync.mail import textlines
from travelsync.mail.model import DELETE, KEEP, Account, Change, MailConfigError, Plan

KIND = "fetchmail"
AFTER_TRIP_DELETES_KEPT = False  # messages already seen stay on the server unless `flush` is set
CHECKER_PRINTS_SECRETS = True  # `--configdump` prints passwords: its output is never shown or logged

ENTRY_STARTS = {"poll", "server", "skip", "defaults"}
STATEMENT_STARTS = ENTRY_STARTS | {"set"}
USER_STARTS = {"user", "username"}
PROTOCOL_WORDS = {"proto", "protocol"}
POP_PROTOCOLS = {"pop3", "apop", "rpop", "kpop", "sdps", "pop2", "auto"}
SEPARATORS = "=;:,"


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str  # as written (quotes included for strings)
    quoted: bool
    line: int

    @property
    def value(self) -> str:
        return self.text[1:-1] if self.quoted else self.text


def tokenize(text: str) -> list[Token]:
    """fetchmail's tokens with their offsets; comments and blanks dropped."""
    if "\x00" in text:
        raise MailConfigError("binary data (NUL byte), not a fetchmailrc", text[: text.index("\x00")].count("\n") + 1)
    tokens: list[Token] = []
    position, line, length = 0, 1, len(text)
    while position < length:
        char = text[position]
        if char == "\n":
            line += 1
            position += 1
        elif char in " \t\r\f\v":
            position += 1
        elif char == "#":
            end = text.find("\n", position)
            position = length if end < 0 else end
        elif char in "\"'":
            start, start_line = position, line
            position += 1
            while position < length and text[position] != char:
                if text[position] == "\\":
                    position += 1
                if position < length and text[position] == "\n":
                    line += 1
                position += 1
            if position >= length:
                raise MailConfigError("unterminated quoted string", start_line)
            position += 1
            tokens.append(Token(start, position, text[start:position], True, start_line))
        elif char in SEPARATORS:
            tokens.append(Token(position, position + 1, char, False, line))
            position += 1
        else:
            start = position
            while position < length and text[position] not in " \t\r\n\f\v" + SEPARATORS:
                position += 1
            word = text[start:position]
            if not word.isprintable():
                raise MailConfigError("control characters: not a fetchmailrc", line)
            tokens.append(Token(start, position, word, False, line))
    return tokens


@dataclass
class UserSection:
    entry: "Entry"
    name: str  # "user NAME", or "" for the implicit user (options without `user`)
    tokens: list[Token] = field(default_factory=list)

    @property
    def account(self) -> str:
        base = f"{self.entry.keyword} {self.entry.name}"
        return f"{base} {self.name}" if self.name else base


@dataclass
class Entry:
    keyword: str  # poll | server | skip | defaults
    name: str
    tokens: list[Token] = field(default_factory=list)  # server options (before the first user section)
    users: list[UserSection] = field(default_factory=list)


def parse(text: str) -> list[Entry]:
    """The file's entries; `set` statements are skipped.  Raise MailConfigError."""
    tokens = tokenize(text)
    entries: list[Entry] = []
    current: Entry | None = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        word = None if token.quoted else token.text
        if word == "set":
            current = None
            index += 1
            while index < len(tokens) and (tokens[index].quoted or tokens[index].text not in STATEMENT_STARTS):
                index += 1
            continue
        if word in ENTRY_STARTS:
            if word == "defaults":
                current = Entry("defaults", "", [token])
                index += 1
            else:
                if index + 1 >= len(tokens) or tokens[index + 1].text in STATEMENT_STARTS | USER_STARTS:
                    raise MailConfigError(f"`{word}` without a server name", token.line)
                current = Entry(word, tokens[index + 1].value, [token, tokens[index + 1]])
                index += 2
            entries.append(current)
            continue
        if current is None:
            raise MailConfigError(f"unexpected `{token.text[:40]}`: expected set, poll, skip or defaults",
                                  token.line)
        if word in USER_STARTS:
            if index + 1 >= len(tokens):
                raise MailConfigError(f"`{word}` without a name", token.line)
            section = UserSection(current, f"user {tokens[index + 1].value}", [token, tokens[index + 1]])
            current.users.append(section)
            index += 2
            continue
        if current.users:
            current.users[-1].tokens.append(token)
        else:
            current.tokens.append(token)
        index += 1
    return entries


def _words(tokens: Sequence[Token]) -> list[str]:
    return [t.text if not t.quoted else "\x00" for t in tokens]


def _keep_settings(tokens: Sequence[Token]) -> list[tuple[int, int, bool]]:
    """(first token index, last token index, keeps?) for every keep/no keep/nokeep."""
    words = _words(tokens)
    found = []
    for i, word in enumerate(words):
        if word == "keep":
            if i > 0 and words[i - 1] == "no":
                found.append((i - 1, i, False))
            else:
                found.append((i, i, True))
        elif word == "nokeep":
            found.append((i, i, False))
    return found


def _protocol(tokens: Sequence[Token]) -> str | None:
    protocol = None
    for i, token in enumerate(tokens[:-1]):
        if not token.quoted and token.text in PROTOCOL_WORDS:
            protocol = tokens[i + 1].value.lower()
    return protocol


def _flush_warnings(tokens: Sequence[Token]) -> list[str]:
    words = _words(tokens)
    state: dict[str, bool] = {}
    for i, word in enumerate(words):
        for name in ("flush", "limitflush"):
            if word == name:
                state[name] = not (i > 0 and words[i - 1] == "no")
            elif word == "no" + name:
                state[name] = False
    return [w for w in state if state[w]]


@dataclass(frozen=True)
class AccountView:
    section: UserSection
    protocol: str
    keeps: bool
    own_keep: tuple[int, int, bool] | None  # the deciding keep setting inside the section
    warnings: tuple[str, ...]


def _views(entries: list[Entry]) -> list[AccountView]:
    defaults = [e for e in entries if e.keyword == "defaults"]
    default_tokens = [t for e in defaults for t in e.tokens + [t for u in e.users for t in u.tokens]]
    default_keep = _keep_settings(default_tokens)
    default_protocol = _protocol(default_tokens) or "auto"
    default_flush = set(_flush_warnings(default_tokens))
    views = []
    for entry in entries:
        if entry.keyword == "defaults":
            continue
        protocol = _protocol(entry.tokens) or default_protocol
        sections = entry.users or [UserSection(entry, "", entry.tokens)]
        for section in sections:
            own = _keep_settings(section.tokens)
            keeps = own[-1][2] if own else (default_keep[-1][2] if default_keep else False)
            flush = (default_flush | set(_flush_warnings(section.tokens))) - {
                w for w in ("flush", "limitflush") if _explicitly_off(section.tokens, w)}
            warnings = tuple(f"{section.account}: `{w}` deletes mail on the server even with `keep`"
                             for w in sorted(flush))
            views.append(AccountView(section, protocol, keeps, own[-1] if own else None, warnings))
    seen: dict[str, int] = {}
    for view in views:  # the same user twice in one file: the second is "… #2", so revert finds each
        seen[view.section.account] = seen.get(view.section.account, 0) + 1
        if seen[view.section.account] > 1:
            view.section.name = f"{view.section.name} #{seen[view.section.account]}".strip()
    return views


def _explicitly_off(tokens: Sequence[Token], name: str) -> bool:
    words = _words(tokens)
    last = None
    for i, word in enumerate(words):
        if word == name:
            last = not (i > 0 and words[i - 1] == "no")
        elif word == "no" + name:
            last = False
    return last is False


def _is_pop(protocol: str) -> bool:
    return protocol in POP_PROTOCOLS


def accounts(text: str) -> list[Account]:
    result = []
    for view in _views(parse(text)):
        result.append(Account(view.section.account, view.protocol, KEEP if view.keeps else DELETE, view.warnings))
    return result


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    paths = []
    if environ.get("FETCHMAILHOME"):
        paths.append(Path(environ["FETCHMAILHOME"]) / "fetchmailrc")
    paths.append(home / ".fetchmailrc")
    return paths


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    views = _views(parse(text))
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement)
    changes, warnings = [], []
    for view in views:
        if only and not any(name == view.section.account or name in view.section.account.split()[1:]
                            for name in only):
            continue
        if not _is_pop(view.protocol):
            continue
        warnings.extend(view.warnings)
        if view.keeps:
            continue
        account = view.section.account
        if view.own_keep is not None:
            first, last, _ = view.own_keep
            start, end = view.section.tokens[first].start, view.section.tokens[last].end
            before = text[start:end]
            edits.append((start, end, "keep"))
            changes.append(Change(account, "keep", before, "keep"))
        else:
            anchor = view.section.tokens[-1]
            edits.append((anchor.end, anchor.end, " keep"))
            changes.append(Change(account, "keep", None, "keep"))
    return Plan(textlines.splice(text, edits), tuple(changes), tuple(warnings))


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo `changes` where the account's last keep setting is still the one keep wrote."""
    views = {v.section.account: v for v in _views(parse(text))}
    edits, done, warnings = [], [], []
    for change in changes:
        view = views.get(change.account)
        if view is None or view.own_keep is None or not view.own_keep[2]:
            warnings.append(f"{change.account}: no longer has the `keep` travelsync set; left as it is")
            continue
        first, last, _ = view.own_keep
        tokens = view.section.tokens
        start, end = tokens[first].start, tokens[last].end
        if change.before is None:
            if start > 0 and text[start - 1] in " \t":
                start -= 1  # the blank keep inserted with the word
            edits.append((start, end, ""))
        else:
            edits.append((start, end, change.before))
        done.append(Change(change.account, change.setting, change.after, change.before))
    return Plan(textlines.splice(text, edits), tuple(done), tuple(warnings))


def validate_argv(path: Path) -> list[str] | None:
    return ["fetchmail", "-f", str(path), "--configdump"]


def refuse_reason(path: Path) -> str | None:
    return None
