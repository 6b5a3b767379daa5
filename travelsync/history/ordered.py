"""A manifest's entries in one canonical order (pure but for temporary files), for merging two.

The order is rsync's (verify/order.py) over the whole path, source name first: the order a
version-2 manifest of one source is written in, so the usual manifest is streamed as it is
after a first pass has found it in order. Anything else (several sources listed out of name
order, a version-1 manifest in path-component order) is sorted externally: runs of CHUNK
entries sorted in memory, written to temporary files, merged. Memory stays flat either way.
"""

import heapq
import tempfile

from travelsync.verify.manifest import Manifest, format_line, parse_line, unescape

CHUNK = 100_000  # entries sorted in memory at once when a manifest is out of order


def path_key(path: bytes) -> bytes:
    """A byte string whose bytewise order is rsync's order of paths: a folder's files (in
    name order) before its subfolders (in name order with `/` appended). Folder components
    end in `/`, which no name holds, so no component is a prefix of another."""
    *folders, name = path.split(b"/")
    return b"".join(b"\x01" + folder + b"/" for folder in folders) + b"\x00" + name


def in_sequence(before: bytes, after: bytes) -> bool:
    """`before` comes before `after` (or is it) in path_key order."""
    folder, _, name = before.rpartition(b"/")
    other_folder, _, other_name = after.rpartition(b"/")
    if folder == other_folder:
        return name <= other_name
    return path_key(before) <= path_key(after)


class OrderedManifest:
    """`open()` returns a new binary stream of the compressed manifest each call (it is read
    twice when in order). Iterate for Entries in path_key order; `algorithm` names the
    manifest's checksum. Close (or use `with`) to drop the temporary files."""

    def __init__(self, open_stream):
        self.open_stream, self.files, self.algorithm = open_stream, [], None
        self.count = self.bytes = 0  # entries and their total size, known after in_order()
        self.ordered = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        for handle in self.files:
            handle.close()
        self.files = []

    def _manifest(self):
        """The entries as written, one pass; the stream is closed when the pass ends."""
        handle = self.open_stream()
        try:
            manifest = Manifest(handle)
            self.algorithm = manifest.algorithm
            yield from manifest
        finally:
            handle.close()

    def in_order(self) -> bool:
        """First pass: whether the lines already come in path_key order. Raw lines, no
        Entry made; two neighbours in one folder (the usual case) compare by name alone."""
        if self.ordered is not None:
            return self.ordered
        handle = self.open_stream()
        try:
            manifest = Manifest(handle)
            self.algorithm = manifest.algorithm
            fields = 3 if manifest.version == 1 else 2
            previous, ordered, count, total = None, True, 0, 0
            for line in manifest.reader:
                if line.startswith(b"#") or not line.strip():
                    continue
                count += 1
                total += int(line.rsplit(b"\t", fields)[1])
                if ordered:
                    path = line[:line.index(b"\t")]
                    if b"\\" in path:
                        path = unescape(path)
                    ordered = previous is None or in_sequence(previous, path)
                    previous = path
            self.ordered, self.count, self.bytes = ordered, count, total
            return ordered
        finally:
            handle.close()

    def __iter__(self):
        if self.in_order():
            yield from self._manifest()
            return
        yield from external_sort(self._manifest(), self.files)


def external_sort(entries, files: list):
    """Yield `entries` (manifest Entries, any order) in path_key order: runs of CHUNK sorted in
    memory, written to temporary files (appended to `files`, for the caller to close), merged."""
    runs, chunk = [], []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= CHUNK:
            runs.append(_write_run(chunk, files))
            chunk = []
    if not runs:  # it all fitted in memory
        chunk.sort(key=lambda e: path_key(e.path))
        yield from chunk
        return
    if chunk:
        runs.append(_write_run(chunk, files))
    yield from heapq.merge(*(_read_run(run) for run in runs), key=lambda e: path_key(e.path))


def _write_run(chunk: list, files: list):
    chunk.sort(key=lambda e: path_key(e.path))
    handle = tempfile.TemporaryFile(prefix="travelsync-sort-")
    files.append(handle)
    handle.writelines(format_line(entry) for entry in chunk)
    handle.seek(0)
    return handle


def _read_run(handle):
    for line in handle:
        yield parse_line(line)
