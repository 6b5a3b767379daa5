"""`verify`: hash a snapshot's files again and compare them with its manifest."""

from dataclasses import dataclass, field

from travelsync.verify.manifest import Manifest

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


def compare(snapshot_id: str, manifest_data: bytes, hashes, on_progress=None) -> VerifyReport:
    """manifest_data: the compressed manifest; hashes: the files found now, either
    (path, digest) pairs in the manifest's algorithm, or a TreeHashes (`.each(algorithm,
    handle)`) that computes whichever algorithm the manifest names (sha256 for version 1,
    xxh128 for version 2). `on_progress(Progress)`: after each file (bytes by the manifest's
    sizes), for a bar."""
    manifest = Manifest(manifest_data)
    expected = {entry.path: (entry.digest, entry.size) for entry in manifest}
    report = VerifyReport(snapshot_id)
    tick = _progress(expected, on_progress) if on_progress is not None else None

    def seen(path: bytes, digest: str) -> None:
        report.checked += 1
        want, size = expected.pop(path, (None, 0))
        if want is None:
            report.extra.append(path)
        elif want != digest:
            report.corrupted.append(path)
        if tick is not None:
            tick(report.checked, size)

    each = getattr(hashes, "each", None)
    if each is not None:
        each(manifest.algorithm, seen)
    else:
        for path, digest in hashes:
            seen(path, digest)
    report.missing = sorted(expected)
    report.corrupted.sort()
    report.extra.sort()
    return report


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


def _progress(expected: dict, on_progress):
    """A per-file callback feeding `on_progress` rsync-shaped Progress values (bytes checked
    of the manifest's total, the average rate)."""
    import time

    from travelsync.rsync.progress import format_rate
    from travelsync.rsync.run import Progress

    whole = sum(size for _digest, size in expected.values()) or 1
    files = len(expected)
    started, done = time.monotonic(), [0]

    def tick(checked: int, size: int) -> None:
        done[0] += size
        elapsed = time.monotonic() - started
        rate = format_rate(done[0] / elapsed) if elapsed > 0 else "0.00B/s"
        on_progress(Progress(done[0], min(100, done[0] * 100 // whole), rate, "", checked, None, files))

    return tick
