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

from travelsync.rsync.itemize import FOLLOWER, is_linked_unchanged, name_candidates, unescape_name
from travelsync.verify.manifest import escape
from travelsync.verify.order import rsync_order_key

BATCH = 1000  # files hashed by one rsync run
MAX_PENDING = 20_000  # lines held back while a batch fills


class ParentEntries:
    """The parent's manifest lines as a cursor: `take(path)` finds a path's (size, digest)
    when the paths are asked for in rsync's order; lines it passes are dropped."""

    def __init__(self, manifest):
        self.lines = (line for line in manifest.reader if not line.startswith(b"#"))
        self.current = self._next()

    def _next(self):
        line = next(self.lines, None)
        if line is None:
            return None
        path, size, digest = line.rstrip(b"\n").rsplit(b"\t", 2)
        return path, int(size), digest

    def take(self, escaped_path: bytes):
        """(size, digest bytes) of `escaped_path` (manifest-escaped), or None."""
        current = self.current
        if current is not None and current[0] != escaped_path:
            from travelsync.verify.manifest import unescape

            key = rsync_order_key(unescape(escaped_path))
            while current is not None and rsync_order_key(unescape(current[0])) < key:
                current = self._next()
            self.current = current
        if current is not None and current[0] == escaped_path:
            self.current = self._next()
            return current[1], current[2]
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
        self.pending: list = []  # [escaped path, size, digest bytes or None, relative path]
        self.unknown = 0
        self.sent = self.inherited = self.hashed = 0

    def _path(self, name: bytes) -> tuple[bytes, bytes]:
        """(escaped manifest path, relative path) of an rsync name without " => ..."."""
        if b"\\" not in name and b"\t" not in name:
            return self.prefix + name, name
        relative = unescape_name(name)
        return self.prefix + escape(relative), relative

    def add(self, code: bytes, size: int, checksum: str | None, name: bytes) -> None:
        if code[1:2] != b"f":
            return  # folders, links, devices: not in the manifest
        if checksum is not None:
            path, _ = self._path(name)
            self.sent += 1
            self._emit(path, size, checksum.encode())
            return
        if self.parent is not None and is_linked_unchanged(code, name):
            path, relative = self._path(name)
            found = self.parent.take(path)
            if found is not None and found[0] == size:
                self.inherited += 1
                self._emit(path, size, found[1])
                return
        elif FOLLOWER in name:
            relative = self.resolve(name)
            if relative is None:
                return  # gone since rsync listed it
            path = self.prefix + escape(relative)
        else:
            path, relative = self._path(name)
        self.pending.append([path, size, None, relative])
        self.unknown += 1
        if self.unknown >= BATCH or len(self.pending) >= MAX_PENDING:
            self._flush()

    def _emit(self, path: bytes, size: int, digest: bytes) -> None:
        if self.pending:
            self.pending.append([path, size, digest, None])
            if len(self.pending) >= MAX_PENDING:
                self._flush()
        else:
            self.spool.write(b"%s\t%d\t%s\n" % (path, size, digest))

    def _flush(self) -> None:
        names = [entry[3] for entry in self.pending if entry[2] is None]
        digests = self.hash_names(names) if names else {}
        lines = []
        for path, size, digest, relative in self.pending:
            if digest is None:
                found = digests.get(relative)
                if found is None:
                    continue  # vanished or unreadable: not in the snapshot as a file
                digest = found.encode()
                self.hashed += 1
            lines.append(b"%s\t%d\t%s\n" % (path, size, digest))
        self.spool.write(b"".join(lines))
        self.pending.clear()
        self.unknown = 0

    def finish(self) -> None:
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
