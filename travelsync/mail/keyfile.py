"""The `[group]` / `key=value` files of GLib (GKeyFile: Evolution's .source) and KDE (KConfig:
KMail's Akonadi resources), scanned line by line so that an edit touches one line only.

Both formats share the shape; the clients add their own rules (which group must exist,
whether a key may come before the first group) on top of `scan`.
"""

import re
from dataclasses import dataclass

from travelsync.mail import textlines
from travelsync.mail.model import MailConfigError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class Entry:
    group: str | None  # None: before the first [group]
    key: str  # without a [locale] / [$i] suffix
    suffixed: bool  # it had one (a translation, a KConfig flag): not the plain setting
    value: str
    line: int  # 0-based
    value_column: int


def scan(text: str, what: str, *, keys_before_groups: bool) -> tuple[list[Entry], list[str | None]]:
    """The entries, and the group each line belongs to; MailConfigError(line) on garbage.
    `what` names the expected file in the messages ("an Evolution .source file")."""
    if not text.strip():
        raise MailConfigError("the file is empty", 1)
    entries, owner, group = [], [], None
    for index, line in enumerate(textlines.split(text)):
        content = textlines.body(line)[0]
        if _CONTROL.search(content):
            raise MailConfigError(f"binary data (not {what}?)", index + 1)
        stripped = content.strip()
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise MailConfigError(f"unterminated group name {stripped[:40]!r}", index + 1)
            group = stripped[1:-1]
        elif stripped and not stripped.startswith("#"):
            if "=" not in content or not content.split("=", 1)[0].strip():
                raise MailConfigError(f"neither [group] nor key=value: {stripped[:40]!r}", index + 1)
            if group is None and not keys_before_groups:
                raise MailConfigError("a key before the first [group]", index + 1)
            raw_key, value = content.split("=", 1)
            column = len(raw_key) + 1 + (len(value) - len(value.lstrip()))
            key = raw_key.strip()
            entries.append(Entry(group, key.split("[", 1)[0], "[" in key, value.strip(), index, column))
        owner.append(group)
    return entries, owner
