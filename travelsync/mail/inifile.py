"""INI files as Python's configparser reads them (getmail, OfflineIMAP), with each value's offsets.

Sections, `key = value` or `key: value`, `#`/`;` comment lines, no inline comments, indented
continuation lines, keys case-insensitive, section names not, a key or a section twice is an
error (configparser's strict mode).  Pure text: the offsets let a client module rewrite one
value and leave every other byte alone.
"""

import re
from dataclasses import dataclass

from travelsync.mail.model import MailConfigError

TRUE_WORDS = {"1", "true", "yes", "on"}
_SECTION = re.compile(r"\[(?P<name>[^]]+)\]")
_OPTION = re.compile(r"(?P<key>[^=:\s][^=:]*?)\s*(?P<delimiter>[=:])\s*(?P<value>.*?)\s*$")
_LINES = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass(frozen=True)
class Option:
    section: str
    key: str  # lowercased, as configparser sees it
    value: str
    line: int  # 1-based
    value_start: int  # offset of the value in the whole text
    value_end: int


def parse(text: str, what: str, client: str) -> dict[str, dict[str, Option]]:
    """Sections → options, with the offsets of each value.  Raise MailConfigError like configparser
    would, naming `what` the file should be ("a getmailrc") and the `client` that refuses it."""
    if "\x00" in text:
        raise MailConfigError(f"binary data (NUL byte), not {what}", text[: text.index("\x00")].count("\n") + 1)
    sections: dict[str, dict[str, Option]] = {}
    current: dict[str, Option] | None = None
    section_name = ""
    last_option: Option | None = None
    offset = 0
    for number, raw in enumerate(_LINES.findall(text), start=1):
        line_start, offset = offset, offset + len(raw)
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped[0] in "#;":
            last_option = None if not stripped else last_option
            continue
        indented = body[0] in " \t"
        if indented and last_option is not None:
            continue  # a continuation line of a multi-line value
        header = _SECTION.fullmatch(stripped)
        if header:
            section_name = header.group("name")
            if section_name in sections:
                raise MailConfigError(f"section [{section_name}] appears twice", number)
            current = sections[section_name] = {}
            last_option = None
            continue
        if current is None:
            raise MailConfigError(f"not {what}: the first setting must come after a [section] header", number)
        match = _OPTION.match(body.lstrip(" \t"))
        if not match or not body.replace("\t", " ").isprintable():
            raise MailConfigError(f"cannot read this line in [{section_name}]", number)
        key = match.group("key").strip().lower()
        if key in current:
            raise MailConfigError(f"`{key}` appears twice in [{section_name}] ({client} refuses that)", number)
        indent = len(body) - len(body.lstrip(" \t"))
        start = line_start + indent + match.start("value")
        option = Option(section_name, key, match.group("value"), number, start, start + len(match.group("value")))
        current[key] = last_option = option
    return sections
