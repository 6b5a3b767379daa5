"""A snapshot's change list against its parent: the format (version 1), written and read
streaming. finalize's delta restore replays the lists from the snapshot on the laptop to the
one restored (restore/delta.py); the backup records them as rsync runs (backup/change_record.py).

`changes.zst` in the snapshot's folder, zstd-compressed (with frame checksums):

    # travelsync changes 1<TAB>parent=<id><TAB>filters=<hex><TAB>scope=list\n
    A home/new.txt\0        (a tag byte, the path under data/, a NUL: no escaping needed,
    C home/notes.txt\0       since no file name holds a NUL; newlines, tabs and bytes that
    F home/Mail/cur\0        are not UTF-8 stay as they are)
    D home/old\0
    .4\0                    (the end: the number of records; a cut-off list has none)

Tags: A added, C changed (content, mode, times, owner, link target, hard links), F a folder
whose attributes changed (its entries may have changed: D records name what went), D gone
(a folder's whole subtree with it). Records come in path-component order (a folder before
what is inside it, siblings bytewise), so several lists merge in one pass.

`scope=whole` says the snapshot's changes are not listed (a full, copied afresh; a resumed
backup; excludes that differ from the parent's): a delta across it restores the whole tree.
"""

import io
import re

VERSION = 1
FILE_NAME = "changes.zst"
ADDED, CHANGED, FOLDER, DELETED = b"A", b"C", b"F", b"D"
TAGS = frozenset((ADDED, CHANGED, FOLDER, DELETED))
LIST, WHOLE = "list", "whole"
_HEADER = re.compile(rb"^# travelsync changes (\d+)\tparent=([^\t]*)\tfilters=([0-9a-f]*)\tscope=(list|whole)\n$")


class Damaged(Exception):
    """A change list that cannot be trusted (cut off, corrupt, another version): the caller
    restores the whole tree instead, and says why."""


def header(parent: str | None, filters: str, scope: str) -> bytes:
    return f"# travelsync changes {VERSION}\tparent={parent or ''}\tfilters={filters}\tscope={scope}\n".encode()


def component_key(path: bytes) -> list:
    """The order of records: by path component, bytewise (a folder right before its insides)."""
    return path.split(b"/")


class Writer:
    """Records in component order → a zstd stream (frame checksums on) on `handle`."""

    def __init__(self, handle, parent: str | None, filters: str, scope: str = LIST):
        import zstandard

        self.stream = zstandard.ZstdCompressor(level=3, write_checksum=True).stream_writer(handle, closefd=False)
        self.buffer = bytearray(header(parent, filters, scope))
        self.count = 0

    def add(self, tag: bytes, path: bytes) -> None:
        self.buffer += tag + path + b"\0"
        self.count += 1
        if len(self.buffer) > 1 << 18:
            self.stream.write(self.buffer)
            self.buffer.clear()

    def close(self) -> None:
        self.buffer += b".%d\0" % self.count
        self.stream.write(self.buffer)
        self.stream.flush(1)  # FLUSH_FRAME: the list is complete
        self.stream = None


class Reader:
    """A change list being read: `parent`, `filters`, `scope`, then its records (tag, path),
    streamed once. Raises Damaged for anything but a whole, well-formed list of this version."""

    def __init__(self, handle):
        import zstandard

        self.reader = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True))
        try:
            line = self.reader.readline(4096)
        except zstandard.ZstdError as error:
            raise Damaged(f"not a zstd stream ({error})") from None
        match = _HEADER.match(line)
        if not match:
            raise Damaged("no change-list header")
        if int(match.group(1)) != VERSION:
            raise Damaged(f"change-list version {int(match.group(1))} (this travelsync reads {VERSION})")
        self.parent = match.group(2).decode() or None
        self.filters = match.group(3).decode()
        self.scope = match.group(4).decode()

    def __iter__(self):
        import zstandard

        count, pending = 0, b""
        try:
            while chunk := self.reader.read(1 << 16):
                records = (pending + chunk).split(b"\0")
                pending = records.pop()
                for record in records:
                    tag = record[:1]
                    if tag == b".":
                        if pending or self.reader.read(1) or record[1:] != b"%d" % count:
                            raise Damaged("its end record does not match")
                        return
                    if tag not in TAGS or len(record) < 2:
                        raise Damaged(f"a record with tag {tag!r}")
                    if record[1:2] == b"/" or any(part in (b"", b".", b"..") for part in record[1:].split(b"/")):
                        raise Damaged(f"a path that is not a plain relative path ({record[1:]!r})")
                    count += 1
                    yield tag, record[1:]
        except zstandard.ZstdError as error:
            raise Damaged(f"corrupt ({error})") from None
        raise Damaged("cut off (no end record)")


def read_all(data: bytes):
    """(Reader, records) of a list held in memory (tests, small lists)."""
    reader = Reader(io.BytesIO(data))
    return reader, list(reader)
