"""Thunderbird: `leave_on_server` of POP servers in a profile's prefs.js.

prefs.js holds one `user_pref("name", value);` per line, sorted by name.  A POP server
(`mail.server.serverN.type` = "pop3") keeps mail when `mail.server.serverN.leave_on_server`
is true; a deleting server usually has no such line at all (false is the default), so keep
inserts one in sorted position and revert removes it again.  Thunderbird rewrites prefs.js
when it exits, so nothing is edited while its profile lock is held, and a `user.js` beside
prefs.js overrides prefs.js at every start, so a user.js that sets the setting is refused.
"""

from __future__ import annotations

import configparser
import errno
import fcntl
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from travelsync.mail import textlines
from travelsync.mail.model import DELETE, KEEP, UNKNOWN, Account, Change, MailConfigError, Plan

KIND = "thunderbird"
AFTER_TRIP_DELETES_KEPT = True  # switched back, the next check deletes what was kept

SETTING = "leave_on_server"
_SERVER = re.compile(r"^mail\.server\.(server\d+|default)\.(.+)$")
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>(?://|\#)[^\n]*|/\*.*?\*/)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>[+-]?\d+)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[(),;])""",
    re.X | re.S,
)
_FUNCTIONS = {"pref", "user_pref", "sticky_pref"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class _Pref:
    name: str
    value: str  # the value token as written: true, false, 7, "pop3"
    value_start: int  # offset of the value token in the text
    value_end: int
    line: int  # 0-based line of the value token

    @property
    def text_value(self) -> str:
        return _unquote(self.value) if self.value[:1] in "\"'" else self.value


# --- parsing ---------------------------------------------------------------------------------

def _unquote(token: str) -> str:
    out, body, i = [], token[1:-1], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", body[i + 2:i + 4]):
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _tokens(text: str):
    position, line = 0, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            what = "an unterminated comment" if text.startswith("/*", position) else repr(text[position])
            raise MailConfigError(f"unexpected {what} (not a prefs.js file?)", line + 1)
        kind = match.lastgroup
        if kind not in ("space", "comment"):
            yield kind, match.group(), match.start(), match.end(), line
        line += match.group().count("\n")
        position = match.end()


def _prefs(text: str) -> list[_Pref]:
    """Every pref(...) statement; raise MailConfigError(line) on anything else."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise MailConfigError("binary data (not a prefs.js file?)", line)
    prefs, stream = [], list(_tokens(text))
    i = 0

    def expect(kinds: set[str], what: str):
        nonlocal i
        if i >= len(stream):
            last = stream[-1][4] + 1 if stream else 1
            raise MailConfigError(f"file ends inside a statement, {what} expected", last)
        kind, value, *_rest = stream[i]
        if kind not in kinds and value not in kinds:
            raise MailConfigError(f"{what} expected, found {value[:30]!r}", stream[i][4] + 1)
        i += 1
        return stream[i - 1]

    while i < len(stream):
        _kind, word, _s, _e, line = stream[i]
        if word not in _FUNCTIONS:
            raise MailConfigError(f"expected user_pref(...), found {word[:30]!r}", line + 1)
        i += 1
        expect({"("}, "'('")
        name = expect({"string"}, "a quoted pref name")
        expect({","}, "','")
        value = expect({"string", "number", "true", "false"}, "a value (true, false, a number or a string)")
        if value[0] == "word" and value[1] not in ("true", "false"):
            raise MailConfigError(f"{value[1]!r} is not a pref value", value[4] + 1)
        while i < len(stream) and stream[i][1] == ",":
            i += 1
            expect({"word"}, "an attribute (locked, sticky)")
        expect({")"}, "')'")
        expect({";"}, "';'")
        prefs.append(_Pref(_unquote(name[1]), value[1], value[2], value[3], value[4]))
    if not prefs:
        raise MailConfigError("no user_pref(...) line: empty or not a prefs.js file", 1)
    return prefs


def _servers(prefs: list[_Pref]) -> dict[str, dict[str, list[_Pref]]]:
    """server key ("server2", "default") → setting → its prefs in file order (last wins)."""
    servers: dict[str, dict[str, list[_Pref]]] = {}
    for pref in prefs:
        match = _SERVER.match(pref.name)
        if match:
            servers.setdefault(match.group(1), {}).setdefault(match.group(2), []).append(pref)
    return servers


def _value(server: dict[str, list[_Pref]], default: dict[str, list[_Pref]], setting: str) -> str | None:
    found = server.get(setting) or default.get(setting)
    return found[-1].text_value if found else None


def _warnings(key: str, server: dict, default: dict) -> tuple[str, ...]:
    warnings = []
    if _value(server, default, "delete_by_age_from_server") == "true":
        days = _value(server, default, "num_days_to_leave_on_server") or "7"
        warnings.append(f"{key}: delete_by_age_from_server is true: messages older than {days} days "
                        "(num_days_to_leave_on_server) are deleted from the server even in keep mode")
    if _value(server, default, "delete_mail_left_on_server") == "true":
        warnings.append(f"{key}: delete_mail_left_on_server is true: deleting a message in Thunderbird "
                        "deletes it on the server too, even in keep mode")
    return tuple(warnings)


def _display(key: str, server: dict, default: dict) -> str:
    """"server2 marc@pop.example.org": the pref key, then who and where (either selects it)."""
    user, host = _value(server, default, "userName"), _value(server, default, "hostname")
    return f"{key} {user}@{host}" if user and host and " " not in user + host else key


def _aliases(key: str, server: dict, default: dict) -> set[str]:
    names = {key, _display(key, server, default)}
    user, host = _value(server, default, "userName"), _value(server, default, "hostname")
    if host:
        names.add(host)
        if user:
            names.add(f"{user}@{host}")
    if _value(server, default, "name"):
        names.add(_value(server, default, "name"))
    return names


def _pop_servers(text: str) -> list[tuple[str, dict, dict]]:
    servers = _servers(_prefs(text))
    default = servers.pop("default", {})
    ordered = sorted(servers.items(), key=lambda item: int(item[0][len("server"):]))
    return [(key, server, default) for key, server in ordered]


def accounts(text: str) -> list[Account]:
    """Every incoming server of the profile, with its protocol and (for POP) its mode."""
    found = []
    for key, server, default in _pop_servers(text):
        protocol = _value(server, default, "type") or "unknown"
        if protocol != "pop3":
            found.append(Account(_display(key, server, default), protocol, UNKNOWN))
            continue
        mode = KEEP if _value(server, default, SETTING) == "true" else DELETE
        found.append(Account(_display(key, server, default), "pop3", mode, _warnings(key, server, default)))
    return found


def _line_of(prefs: list[_Pref], key: str, lines: list[str]) -> tuple[int, str]:
    """Where a new `leave_on_server` line goes: its sorted place among the server's lines."""
    name = f"mail.server.{key}.{SETTING}"
    own = sorted((p.line, p.name) for p in prefs if p.name.startswith(f"mail.server.{key}."))
    before = [line for line, other in own if other < name]
    if before:
        return max(before) + 1, name
    return (own[0][0] if own else len(lines)), name


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    """Set leave_on_server to true for the POP servers (all, or those named in `only`)."""
    prefs, lines = _prefs(text), textlines.split(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    replace: dict[int, str] = {}
    insert: dict[int, list[str]] = {}
    changes, warnings = [], []
    for key, server, default in _pop_servers(text):
        if _value(server, default, "type") != "pop3":
            continue
        if only and not (_aliases(key, server, default) & only):
            continue
        warnings.extend(_warnings(key, server, default))
        if _value(server, default, SETTING) == "true":
            continue
        own = server.get(SETTING, [])
        last_true = max((n for n, pref in enumerate(own) if pref.text_value == "true"), default=-1)
        if own[last_true + 1:]:
            for pref in own[last_true + 1:]:  # the lines that make it delete (last one wins)
                content = textlines.body(lines[pref.line])[0]
                start = pref.value_start - starts[pref.line]
                new = content[:start] + "true" + content[start + len(pref.value):]
                changes.append(Change(key, SETTING, content, new))
                replace[pref.line] = new
        else:
            at, name = _line_of(prefs, key, lines)
            new = f'user_pref("{name}", true);'
            insert.setdefault(at, []).append(new)
            changes.append(Change(key, SETTING, None, new))
    return Plan(textlines.rebuild(lines, replace, insert), tuple(changes), tuple(warnings))


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    """Undo exactly these changes, each found by the line keep wrote; leave the rest alone."""
    _prefs(text)  # refuse what does not parse
    return textlines.revert_lines(text, [None] * len(textlines.split(text)), changes, lambda change: None)


def validate_argv(path: Path) -> list[str] | None:
    return None  # Thunderbird has no command-line checker for prefs.js


# --- where prefs.js lives, and whether it may be edited now ----------------------------------

def _roots(home: Path) -> list[Path]:
    return [home / ".thunderbird", home / ".mozilla-thunderbird",
            home / ".var/app/org.mozilla.Thunderbird/.thunderbird",
            home / "snap/thunderbird/common/.thunderbird"]


def _profiles(root: Path) -> list[Path]:
    """The profile folders listed in root/profiles.ini: the installs' defaults first."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(root / "profiles.ini", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return []

    def resolve(relative: str, is_relative: str) -> Path:
        return root / relative if is_relative.strip() != "0" else Path(relative)

    profiles = {}
    for section in parser.sections():
        if section.lower().startswith("profile") and parser.has_option(section, "path"):
            path = parser.get(section, "path")
            profiles[path] = (resolve(path, parser.get(section, "isrelative", fallback="1")),
                              parser.get(section, "default", fallback="0").strip() == "1")
    installs = [parser.get(s, "default") for s in parser.sections()
                if s.lower().startswith("install") and parser.has_option(s, "default")]
    ordered = [resolve(p, "1") if p not in profiles else profiles[p][0] for p in installs]
    ordered += [path for path, is_default in profiles.values() if is_default]
    ordered += [path for path, _ in profiles.values()]
    return list(dict.fromkeys(ordered))


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    """prefs.js of every profile in the usual profiles.ini files (native, legacy, Flatpak, Snap)."""
    found = []
    for root in _roots(home):
        found += [profile / "prefs.js" for profile in _profiles(root) if (profile / "prefs.js").is_file()]
    return list(dict.fromkeys(found))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_holder(profile: Path) -> str | None:
    """Why the profile is in use: a `lock` symlink "IP:+PID" naming a live process, or a held
    fcntl lock on `.parentlock` (Thunderbird takes both on Linux)."""
    lock = profile / "lock"
    if lock.is_symlink():
        target = os.readlink(lock)
        match = re.fullmatch(r"(.*):\+?(\d+)", target)
        if match and _pid_alive(int(match.group(2))):
            return f"Thunderbird is running with this profile (lock {lock} → {target})"
    parent_lock = profile / ".parentlock"
    if parent_lock.exists():
        try:
            descriptor = os.open(parent_lock, os.O_RDWR)
        except OSError:
            return None
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(descriptor, fcntl.LOCK_UN)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EAGAIN):
                return f"Thunderbird is running with this profile ({parent_lock} is locked)"
        finally:
            os.close(descriptor)
    return None


def _user_js_override(prefs_js: Path) -> str | None:
    user_js = prefs_js.with_name("user.js")
    try:
        text = user_js.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        return f"{user_js} cannot be read ({error}); it may override {SETTING}"
    try:
        prefs = _prefs(text)
    except MailConfigError as error:
        if not text.strip() or "no user_pref" in error.message:
            return None
        return f"{user_js} does not parse ({error.message}); it may override {SETTING}"
    for pref in prefs:
        match = _SERVER.match(pref.name)
        if match and match.group(2) == SETTING:
            return (f"{user_js} line {pref.line + 1} sets {pref.name}: Thunderbird applies user.js at every "
                    "start, overriding the change; remove that line first")
    return None


def refuse_reason(path: Path) -> str | None:
    """Refuse while Thunderbird holds the profile (it rewrites prefs.js on exit) or when user.js
    overrides leave_on_server."""
    return _lock_holder(path.parent) or _user_js_override(path)
