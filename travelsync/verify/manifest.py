"""The manifest format: zstd-compressed TSV, one regular file a line, a header line first.

Version 2 (written since rsync computes the checksums; see verify/build.py):

    # travelsync manifest 2	path	size	xxh128
    home/notes/a.txt	12	9f86d081884c7d659a2feaa0c55ad015

Version 1 (older snapshots; still read and verified):

    # travelsync manifest 1	path	size	mtime_ns	sha256
    home/notes/a.txt	12	1764131234123456789	9f86d0…

Paths are the bytes under the snapshot's data/ (so `<source>/…`); `\\`, tab, newline and
carriage return are escaped as `\\\\`, `\\t`, `\\n`, `\\r`; other bytes (non-UTF-8 too) stay as
they are. Version 2 lines come in rsync's order (verify/order.py), version 1 lines in
path-component order; readers must not depend on either.
"""

import io
import re
from dataclasses import dataclass

from travelsync.errors import TravelsyncError

VERSION = 2
ALGORITHM = "xxh128"
BATCH = 1 << 18  # bytes of lines handed to the compressor at once
HEADER = b"# travelsync manifest 2\tpath\tsize\txxh128\n"
HEADER_V1 = b"# travelsync manifest 1\tpath\tsize\tmtime_ns\tsha256\n"
ALGORITHMS = {1: "sha256", 2: "xxh128"}
_UNESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}


@dataclass(frozen=True)
class Entry:
    path: bytes
    size: int
    digest: str  # hex, in the manifest's algorithm


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
    return b"%s\t%d\t%s\n" % (escape(entry.path), entry.size, entry.digest.encode())


def parse_line(line: bytes, version: int = VERSION) -> Entry:
    if version == 1:
        path, size, _mtime, digest = line.rstrip(b"\n").rsplit(b"\t", 3)
    else:
        path, size, digest = line.rstrip(b"\n").rsplit(b"\t", 2)
    return Entry(unescape(path), int(size), digest.decode())


class SectionSpool:
    """A manifest compressed as its lines come, into a local binary file: the header, then
    one zstd frame per section (a source). A section can be started again (a retried rsync)
    by cutting the file back to where it began; the frames, concatenated, are the manifest
    (zstd reads across frames), so the final copy needs no recompression."""

    def __init__(self, handle):
        import zstandard

        self.handle, self.compressor = handle, zstandard.ZstdCompressor(level=3)
        self.buffer = bytearray()
        self.start, self.stream = 0, None
        self.begin()
        self.write(HEADER)
        self.end()

    def begin(self) -> None:
        self.start = self.handle.tell()
        self.stream = self.compressor.stream_writer(self.handle, closefd=False)

    def restart(self) -> None:
        """Drop the current section's lines; write it again from its start."""
        self.buffer.clear()
        self.handle.seek(self.start)
        self.handle.truncate()
        self.begin()

    def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > BATCH:
            self.stream.write(self.buffer)
            self.buffer.clear()

    def end(self) -> None:
        self.stream.write(self.buffer)
        self.buffer.clear()
        self.stream.flush(1)  # FLUSH_FRAME: the section is complete
        self.stream = None


class ManifestDamaged(TravelsyncError):
    """The manifest cannot be read (not zstd, truncated, a line that is no entry): a problem
    of that snapshot, said as such, never an internal error."""


class Manifest:
    """A manifest being read: `version`, `algorithm`, and its Entries, streamed once."""

    def __init__(self, data_or_handle):
        import zstandard

        self._zstd_error = zstandard.ZstdError
        handle = io.BytesIO(data_or_handle) if isinstance(data_or_handle, bytes) else data_or_handle
        self.reader = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True))
        try:
            first = self.reader.peek(64)[:64]
        except self._zstd_error as error:
            raise ManifestDamaged(f"manifest damaged: {error}") from None
        match = re.match(rb"# travelsync manifest (\d+)\t", first)
        self.version = int(match.group(1)) if match else 1
        if self.version not in ALGORITHMS:
            raise TravelsyncError(f"manifest version {self.version} is newer than this travelsync understands",
                                  hint="upgrade travelsync on this machine")
        self.algorithm = ALGORITHMS[self.version]

    def __iter__(self):
        version = self.version
        number = 0
        try:
            for number, line in enumerate(self.reader, 1):
                if line.startswith(b"#") or not line.strip():
                    continue
                try:
                    entry = parse_line(line, version)
                except ValueError:
                    raise ManifestDamaged(f"manifest damaged: line {number} is no entry") from None
                yield entry
        except self._zstd_error as error:
            raise ManifestDamaged(f"manifest damaged after line {number}: {error}") from None


def read_entries(data_or_handle):
    """Yield the Entries of a manifest (bytes or a binary file object), streaming."""
    return iter(Manifest(data_or_handle))
