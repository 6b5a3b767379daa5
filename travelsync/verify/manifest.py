"""The manifest format: zstd-compressed TSV, one regular file a line, in manifest order.

    # travelsync manifest 1	path	size	mtime_ns	sha256
    home/notes/a.txt	12	1764131234123456789	9f86d0…

Paths are the bytes under the snapshot's data/ (so `<source>/…`); `\\`, tab, newline and
carriage return are escaped as `\\\\`, `\\t`, `\\n`, `\\r`; other bytes (non-UTF-8 too) stay as they are.
"""

import io
from dataclasses import dataclass

BATCH = 1 << 18  # bytes of lines handed to the compressor at once
HEADER = b"# travelsync manifest 1\tpath\tsize\tmtime_ns\tsha256\n"
_ESCAPES = {b"\\": b"\\\\", b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r"}
_UNESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}


@dataclass(frozen=True)
class Entry:
    path: bytes
    size: int
    mtime_ns: int
    sha256: str


def escape(path: bytes) -> bytes:
    return path.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def unescape(text: bytes) -> bytes:
    if b"\\" not in text:
        return text
    out, index = bytearray(), 0
    while index < len(text):
        byte = text[index:index + 1]
        if byte == b"\\" and index + 1 < len(text):
            out += _UNESCAPES.get(text[index + 1:index + 2], text[index:index + 2])
            index += 2
        else:
            out += byte
            index += 1
    return bytes(out)


def format_line(entry: Entry) -> bytes:
    return b"%s\t%d\t%d\t%s\n" % (escape(entry.path), entry.size, entry.mtime_ns, entry.sha256.encode())


def parse_line(line: bytes) -> Entry:
    path, size, mtime, digest = line.rstrip(b"\n").rsplit(b"\t", 3)
    return Entry(unescape(path), int(size), int(mtime), digest.decode())


class ManifestWriter:
    """Write entries to a binary file object, compressing as they come."""

    def __init__(self, handle):
        import zstandard

        self.stream = zstandard.ZstdCompressor(level=3).stream_writer(handle, closefd=False)
        self.buffer = bytearray(HEADER)
        self.count = 0

    def add(self, entry: Entry) -> None:
        self.buffer += format_line(entry)
        self.count += 1
        if len(self.buffer) > BATCH:
            self.stream.write(self.buffer)
            self.buffer.clear()

    def close(self) -> None:
        self.stream.write(self.buffer)
        self.buffer.clear()
        self.stream.flush(1)  # FLUSH_FRAME
        self.stream.close()


def read_entries(data_or_handle):
    """Yield the Entries of a manifest (bytes or a binary file object), streaming."""
    import zstandard

    handle = io.BytesIO(data_or_handle) if isinstance(data_or_handle, bytes) else data_or_handle
    reader = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(handle))
    for line in reader:
        if line.startswith(b"#") or not line.strip():
            continue
        yield parse_line(line)
