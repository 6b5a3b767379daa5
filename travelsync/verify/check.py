"""`verify`: hash a snapshot's files again and compare them with its manifest."""

import io
import tempfile
from dataclasses import dataclass, field

from travelsync.verify.manifest import Entry, escape, format_line, parse_line, unescape

MAX_LISTED = 1000


@dataclass
class VerifyReport:
    snapshot: str
    checked: int = 0
    corrupted: list = field(default_factory=list)  # contents differ from the manifest
    missing: list = field(default_factory=list)  # in the manifest, not in the snapshot
    extra: list = field(default_factory=list)  # in the snapshot, not in the manifest

    @property
    def ok(self) -> bool:
        return not (self.corrupted or self.missing or self.extra)

    def to_json(self) -> dict:
        show = lambda paths: [p.decode("utf-8", "backslashreplace") for p in paths[:MAX_LISTED]]
        return {"snapshot": self.snapshot, "ok": self.ok, "checked": self.checked,
                "corrupted": show(self.corrupted), "missing": show(self.missing), "extra": show(self.extra)}


def compare(snapshot_id: str, manifest, hashes, on_progress=None) -> VerifyReport:
    """manifest: the compressed manifest, as bytes or as a callable returning a new binary
    stream of it each call (read two or three times); hashes: the files found now, either
    (path, digest) pairs in the manifest's algorithm, or a TreeHashes (`.each(algorithm,
    handle)`) that computes whichever algorithm the manifest names (sha256 for version 1,
    xxh128 for version 2). `on_progress(Progress)`: after each file, for a bar.

    Streaming, in flat memory: the manifest comes in path_key order (history/ordered.py) and
    is joined with the hashes as they arrive, which rsync lists in that same order. Every
    hash is also spooled to a temporary file; if one arrives out of order, the live join is
    dropped and the spool is sorted externally and joined afterwards. The sha256 of a
    version-1 manifest (a local walk, `find` on a remote) is spooled from the start: it is
    not in that order. Only the differences are kept."""
    from travelsync.history.ordered import OrderedManifest

    opener = (lambda: io.BytesIO(manifest)) if isinstance(manifest, (bytes, bytearray)) else manifest
    with OrderedManifest(opener) as ordered, tempfile.TemporaryFile(prefix="travelsync-verify-") as spool:
        ordered.in_order()  # the algorithm, the count and the total size, for the bar
        join = _Join(VerifyReport(snapshot_id), iter(ordered), spool,
                     _progress(ordered.count, ordered.bytes, on_progress) if on_progress is not None else None)
        each = getattr(hashes, "each", None)
        if each is not None and ordered.algorithm == "sha256":
            join.abandon()  # sha256 comes from a walk or `find`, not in rsync's order: spool from the start
        if each is not None:
            each(ordered.algorithm, join.seen)
        else:
            for path, digest in hashes:
                join.seen(path, digest)
        report = join.finish() if join.live else _join_spooled(snapshot_id, ordered, spool, join.report.checked)
    report.missing.sort()
    report.corrupted.sort()
    report.extra.sort()
    return report


class _Join:
    """The manifest (in path_key order) joined with hashes arriving in that order; `live`
    turns False at the first hash out of order (the spool then holds them all)."""

    def __init__(self, report: VerifyReport, entries, spool, tick):
        self.report, self.entries, self.spool, self.tick = report, entries, spool, tick
        self.next = next(entries, None)
        self.live, self.previous = True, None
        # manifest paths passed over (missing, if the order holds), on disk until the end: a
        # first hash far down an unordered stream would otherwise pass over half the manifest
        self.passed = tempfile.TemporaryFile(prefix="travelsync-verify-")

    def seen(self, path: bytes, digest: str) -> None:
        from travelsync.history.ordered import in_sequence

        self.spool.write(format_line(Entry(path, 0, digest)))
        self.report.checked += 1
        size = 0
        if self.live and self.previous is not None and not in_sequence(self.previous, path):
            self.abandon()
        if self.live:
            self.previous = path
            size = self._match(path, digest)
        if self.tick is not None:
            self.tick(self.report.checked, size)

    def abandon(self) -> None:
        """Out of order: what the live join found is void (its "missing" may be anything);
        drop it now rather than hold it until the spool is joined."""
        self.live, self.entries, self.next = False, None, None
        self.report.missing, self.report.corrupted, self.report.extra = [], [], []
        self.passed.close()

    def _match(self, path: bytes, digest: str) -> int:
        from travelsync.history.ordered import path_key

        entry, key = self.next, None
        while entry is not None and entry.path != path:
            key = key or path_key(path)
            if path_key(entry.path) > key:
                break
            self.passed.write(escape(entry.path) + b"\n")
            entry = next(self.entries, None)
        self.next = entry
        if entry is None or entry.path != path:
            self.report.extra.append(path)
            return 0
        if entry.digest != digest:
            self.report.corrupted.append(path)
        self.next = next(self.entries, None)
        return entry.size

    def finish(self) -> VerifyReport:
        while self.next is not None:
            self.passed.write(escape(self.next.path) + b"\n")
            self.next = next(self.entries, None)
        self.passed.seek(0)
        self.report.missing = [unescape(line[:-1]) for line in self.passed]
        self.passed.close()
        return self.report


def _join_spooled(snapshot_id: str, ordered, spool, checked: int) -> VerifyReport:
    """The join again, from the start, with the spooled hashes sorted externally."""
    from travelsync.history.ordered import external_sort

    spool.seek(0)
    files: list = []
    try:
        found = external_sort((parse_line(line) for line in spool), files)
        join = _Join(VerifyReport(snapshot_id), iter(ordered), None, None)
        for entry in found:
            join._match(entry.path, entry.digest)
        join.report.checked = checked
        return join.finish()
    finally:
        for handle in files:
            handle.close()


class TreeHashes:
    """The files of a snapshot folder, hashed on demand in the algorithm a manifest names:
    sha256 by `sha256_pairs()` (version 1), xxh128 by rsync where the files are (version 2)."""

    def __init__(self, sha256_pairs, settings, ssh, root):
        self.sha256_pairs, self.settings, self.ssh, self.root = sha256_pairs, settings, ssh, root

    def __iter__(self):
        return iter(self.sha256_pairs())

    def each(self, algorithm: str, handle) -> None:
        if algorithm == "sha256":
            for path, digest in self.sha256_pairs():
                handle(path, digest)
            return
        from travelsync.verify.sums import each_checksum

        each_checksum(self.settings, self.ssh, self.root, handle)


def _progress(files: int, whole: int, on_progress):
    """A per-file callback feeding `on_progress` rsync-shaped Progress values (bytes checked
    of the manifest's total, the average rate)."""
    import time

    from travelsync.rsync.progress import format_rate
    from travelsync.rsync.run import Progress

    whole = whole or 1
    started, done = time.monotonic(), [0]

    def tick(checked: int, size: int) -> None:
        done[0] += size
        elapsed = time.monotonic() - started
        rate = format_rate(done[0] / elapsed) if elapsed > 0 else "0.00B/s"
        on_progress(Progress(done[0], min(100, done[0] * 100 // whole), rate, "", checked, None, files))

    return tick
