"""Build a snapshot's manifest from rsync's own listing while rsync runs: no second read.

For each regular file rsync reports (rsync/itemize.py):
- sent: rsync's xxh128 of the whole file, computed as it sent it (`%C`);
- hard-linked unchanged from --link-dest: the parent manifest's checksum for the same path,
  found by merging both lists as they stream (both in rsync's order, verify/order.py);
- anything else (a hard-link follower, a file already in a resumed partial, an unchanged
  file the parent's manifest lacks): hashed by rsync in batches (`hash_names`), so only
  those are read again.
Memory stays flat: at most MAX_PENDING lines wait for a batch; nothing else is kept.
"""

from travelsync.rsync.itemize import CHECKSUM_WIDTH, FOLLOWER, LINKED, name_candidates, unescape_name
from travelsync.verify.manifest import escape
from travelsync.verify.order import rsync_order_key

BATCH = 1000  # files hashed by one rsync run
MAX_PENDING = 20_000  # lines held back while a batch fills


class ParentEntries:
    """The parent's manifest lines as a cursor: `take(path, size)` finds the line of a path
    (with that size) when paths are asked for in rsync's order; lines it passes are dropped.
    Lines stay bytes: an inherited line is copied as it is."""

    def __init__(self, manifest):
        self.lines = iter(manifest.reader)
        self.line = next(self.lines, None)
        while self.line is not None and self.line.startswith(b"#"):
            self.line = next(self.lines, None)

    def take(self, escaped_path: bytes, size: bytes) -> bytes | None:
        """The parent's manifest line for `escaped_path` (manifest-escaped) if its size is
        `size` (digits), else None."""
        line = self.line
        want = escaped_path + b"\t" + size + b"\t"
        if line is not None and line.startswith(want):  # the usual case: the next line
            self.line = next(self.lines, None)
            return line
        from travelsync.verify.manifest import unescape

        key = rsync_order_key(unescape(escaped_path))
        while line is not None and rsync_order_key(unescape(line[:line.index(b"\t")])) < key:
            line = next(self.lines, None)
        self.line = line
        if line is not None and line[:line.index(b"\t")] == escaped_path:
            self.line = next(self.lines, None)
            return line if line.startswith(want) else None
        return None


class SourceManifest:
    """The manifest lines of one source, written to `spool` (a binary file) as rsync reports
    files: `add(code, size, checksum, name)` per listing line, then `finish()`.

    hash_names(list of paths relative to the source) -> {path: digest}; resolve(name text) ->
    the relative path a follower's "path => leader" line stands for (or None when gone).
    """

    def __init__(self, source_name: str, spool, parent: ParentEntries | None, hash_names, resolve):
        self.prefix = escape(source_name.encode() + b"/")
        self.spool, self.parent, self.hash_names, self.resolve = spool, parent, hash_names, resolve
        self.out: list = []  # finished lines not yet handed to the spool (written in batches)
        self.pending: list = []  # [escaped path or finished line, size or None, relative path]
        self.unknown = 0
        self.sent = self.inherited = self.hashed = 0

    def _path(self, name: bytes) -> tuple[bytes, bytes]:
        """(escaped manifest path, relative path) of an rsync name without " => ..."."""
        if b"\\" not in name and b"\t" not in name:
            return self.prefix + name, name
        relative = unescape_name(name)
        return self.prefix + escape(relative), relative

    def add(self, code: bytes, size: bytes, checksum: bytes | None, name: bytes) -> None:
        """One listing line (rsync/itemize.split_listing): size in digits, checksum hex or None.
        The hot path: a file linked unchanged whose line is the parent's next one, copied."""
        parent = self.parent
        if code == LINKED and parent is not None:
            line = parent.line
            if line is not None and line.startswith(self.prefix + name + b"\t" + size + b"\t") \
                    and b"\\" not in name and FOLLOWER not in name:
                parent.line = next(parent.lines, None)
                self.inherited += 1
                if self.pending:
                    self._emit(line)
                    return
                out = self.out
                out.append(line)
                if len(out) >= 512:
                    self.spool.write(b"".join(out))
                    out.clear()
                return
        if code[1:2] != b"f":
            return  # folders, links, devices: not in the manifest
        if checksum is not None:
            path, _ = self._path(name)
            self.sent += 1
            self._emit(path + b"\t" + size + b"\t" + checksum + b"\n")
            return
        if parent is not None and code == LINKED and FOLLOWER not in name:
            path, relative = self._path(name)
            line = parent.take(path, size)
            if line is not None:
                self.inherited += 1
                self._emit(line)
                return
        elif FOLLOWER in name:
            relative = self.resolve(name)
            if relative is None:
                return  # gone since rsync listed it
            path = self.prefix + escape(relative)
        else:
            path, relative = self._path(name)
        self._write_out()
        self.pending.append([path, size, relative])
        self.unknown += 1
        if self.unknown >= BATCH or len(self.pending) >= MAX_PENDING:
            self._flush()

    def add_lines(self, lines) -> None:
        """Many raw listing lines of regular files at once (rsync.run's `on_files`): the same
        as `add` for each, with the common case (linked unchanged, the parent's next line)
        handled in this loop: one Python call per chunk of rsync's output, not per file."""
        parent, prefix, out, add = self.parent, self.prefix, self.out, self.add
        width = CHECKSUM_WIDTH
        inherited = sent = 0
        for raw in lines:
            code = raw[:11]
            rest = raw[12:]
            space = rest.find(b" ")
            size = rest[:space]
            name = rest[space + width + 2:]
            if code == LINKED and parent is not None and not self.pending:
                line = parent.line
                if line is not None and line.startswith(prefix + name + b"\t" + size + b"\t") \
                        and b"\\" not in name and FOLLOWER not in name:
                    parent.line = next(parent.lines, None)
                    inherited += 1
                    out.append(line)
                    continue
            checksum = rest[space + 1:space + 1 + width]
            if checksum[:1] == b" " or not checksum:
                checksum = None
            elif not self.pending and b"\\" not in name and b"\t" not in name and code[1:2] == b"f":
                out.append(prefix + name + b"\t" + size + b"\t" + checksum + b"\n")  # sent: rsync's checksum
                sent += 1
                continue
            add(code, size, checksum, name)
        self.inherited += inherited
        self.sent += sent
        if len(out) >= 512:
            self._write_out()

    def _emit(self, line: bytes) -> None:
        if self.pending:
            self.pending.append([line, None, None])
            if len(self.pending) >= MAX_PENDING:
                self._flush()
        else:
            self.out.append(line)
            if len(self.out) >= 512:
                self._write_out()

    def _write_out(self) -> None:
        if self.out:
            self.spool.write(b"".join(self.out))
            self.out.clear()

    def _flush(self) -> None:
        """Hash the waiting files (one rsync run), then write the waiting lines in order."""
        names = [relative for _, size, relative in self.pending if size is not None]
        digests = self.hash_names(names) if names else {}
        lines = []
        for path_or_line, size, relative in self.pending:
            if size is None:
                lines.append(path_or_line)  # a finished line
                continue
            digest = digests.get(relative)
            if digest is None:
                continue  # vanished or unreadable: not in the snapshot as a file
            self.hashed += 1
            lines.append(path_or_line + b"\t" + size + b"\t" + digest.encode() + b"\n")
        self.spool.write(b"".join(lines))
        self.pending.clear()
        self.unknown = 0

    def finish(self) -> None:
        self._write_out()
        if self.pending:
            self._flush()


def candidates_resolver(root: bytes):
    """resolve() for SourceManifest: the first candidate of a follower line that is a regular
    file under `root` (the snapshot's folder, or the source for a remote repository)."""
    import os
    import stat

    def resolve(name: bytes) -> bytes | None:
        for candidate in reversed(name_candidates(name)[1:]) if FOLLOWER in name else []:
            try:
                if stat.S_ISREG(os.lstat(os.path.join(root, candidate)).st_mode):
                    return candidate
            except OSError:
                continue
        text = unescape_name(name)
        return text if os.path.lexists(os.path.join(root, text)) else None

    return resolve
