"""Maildir messages as messages, not files (pure), for `return --sync-back`.

During a trip the laptop fetches mail that stays on the server, and home fetches the same
mail afterwards: the same message then sits in both Maildirs under different file names,
and the laptop's reading (new/ → cur/, `:2,S`) renames its copies. Copying the laptop's
files home would duplicate every trip mail. A message is the same when its Maildir unique
name (the file name before `:2,`) or its Message-ID is already in that Maildir folder at
home (cr.yp.to/proto/maildir.html; RFC 5322 §3.6.4).
"""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

SUBFOLDERS = ("cur", "new")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.I | re.M)
HEADER_LIMIT = 16 * 1024  # bytes read of a message to find its Message-ID (headers are short)


@dataclass(frozen=True)
class MaildirFile:
    folder: PurePosixPath  # the Maildir folder (holding cur/ new/ tmp/), relative to the source
    sub: str  # cur | new | tmp
    unique: str  # the unique name: the file name without its `:2,FLAGS` info


def maildir_file(path: str) -> MaildirFile | None:
    """`Mail/work/cur/1700000000.M1P2.host:2,S` → MaildirFile(Mail/work, cur, 1700000000.M1P2.host);
    None for a path that is not a message file of a Maildir."""
    parts = PurePosixPath(path).parts
    if len(parts) < 2 or parts[-2] not in (*SUBFOLDERS, "tmp"):
        return None
    return MaildirFile(PurePosixPath(*parts[:-2]) if len(parts) > 2 else PurePosixPath("."), parts[-2],
                       unique_name(parts[-1]))


def unique_name(file_name: str) -> str:
    return file_name.split(":", 1)[0]


def message_id(head: bytes) -> bytes | None:
    """The Message-ID of a message's header (its first bytes), or None; folded lines allowed."""
    header = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", header)
    found = _MESSAGE_ID.search(unfolded)
    return found.group(1).strip() if found else None
