"""rsync's per-file output lines in travelsync's listing format (pure).

A backup runs rsync with `-ii --out-format='%i %l %C %n%L' --checksum-choice=xxh128`, so
every item of the transfer, changed or not, arrives as one line:

    >f+++++++++ 5 b5e9c1ad071b3e7fc779cfaa5e523818 docs/a.txt        sent: rsync's checksum
    hf          3000000                                  big         linked from --link-dest
    hf+++++++++ 5                                  a/hl => a/x       a hard link (-H) follower

`%C` is the xxh128 checksum rsync computed over the whole file while sending it (blank when
the file was not sent), so the manifest needs no second read of the data. Names are escaped
by rsync: control characters (and high bytes outside a UTF-8 locale) as `\\#ooo`, a
backslash only before `#` and three digits; tabs stay raw.
"""

import re

LISTING_FORMAT = "%i %l %C %n%L"
CHECKSUM = "xxh128"  # the transfer checksum rsync ≥ 3.2 prefers; %C prints it
CHECKSUM_WIDTH = 32  # hex digits of an xxh128 checksum (blank-padded when unknown)
ITEM_CODE = re.compile(rb"^[<>ch.*][fdLDS][.+?cstpoguaxn ]{9} ")
UNCHANGED = b" " * 9  # attribute columns of an item rsync left as it was (shown under -ii)
LINKED = b"hf" + UNCHANGED  # a file hard-linked, unchanged, from --link-dest
FOLLOWER = b" => "  # %L of a hard-link follower: " => leader"
_ESCAPE = re.compile(rb"\\#([0-7]{3})")


def unescape_name(text: bytes) -> bytes:
    """Undo rsync's `\\#ooo` escapes: the name's real bytes."""
    if b"\\#" not in text:
        return text
    return _ESCAPE.sub(lambda match: bytes((int(match.group(1), 8) & 0xFF,)), text)


def split_listing(line: bytes) -> tuple[bytes, bytes, bytes | None, bytes]:
    """`(code, size digits, checksum hex or None, name text)` of one listing line (ITEM_CODE
    matched). The name text is still escaped and may end with `%L` (" -> target", " => leader")."""
    size, _, rest = line[12:].partition(b" ")
    checksum = rest[:CHECKSUM_WIDTH]
    return line[:11], size, None if checksum[:1] == b" " or not checksum else checksum, rest[CHECKSUM_WIDTH + 1:]


def is_regular_file(code: bytes) -> bool:
    return code[1:2] == b"f" and code[:1] != b"*"


def is_significant(code: bytes) -> bool:
    """What plain `-i` would have shown: an item with some change (not an -ii "unchanged")."""
    return code[2:11] != UNCHANGED or code[:1] == b"*"


def is_linked_unchanged(code: bytes, name: bytes) -> bool:
    """A regular file rsync hard-linked from --link-dest unchanged (not a -H follower, whose
    line carries " => leader"): its contents are the previous snapshot's file at that path."""
    return code == LINKED and FOLLOWER not in name


def name_candidates(name: bytes) -> list[bytes]:
    """The paths a name text may stand for: itself, or, for a -H follower's "path => leader",
    the part before one of the " => " (a name may contain " => " itself)."""
    text = unescape_name(name)
    candidates = [text]
    start = 0
    while (index := name.find(FOLLOWER, start)) >= 0:
        candidates.append(unescape_name(name[:index]))
        start = index + 1
    return candidates
