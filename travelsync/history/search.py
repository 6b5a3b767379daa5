"""`find` and `log` (pure over entry streams): which snapshots hold matching paths, and the
versions of one file. Each snapshot's manifest is streamed once, oldest snapshot first;
memory grows with the matches (the last checksum of each matching path), never with the
number of files.

Paths are a manifest's: `<source>/<path inside the source>`. A pattern is matched against
both that and the path inside the source.
"""

import fnmatch
import os
import re
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Sighting:
    """A matching file in one snapshot. change: "new" (not in the previous snapshot searched
    that holds manifests), "changed" (other checksum or size) or "same"."""
    snapshot: str
    started: datetime
    path: bytes
    size: int
    digest: str
    change: str

    def to_json(self) -> dict:
        return {"snapshot": self.snapshot, "started": self.started.isoformat(), "path": show(self.path),
                "size": self.size, "checksum": self.digest, "change": self.change}


@dataclass(frozen=True)
class Version:
    """One version of a file: the first snapshot that holds it so ("added", "changed"), or
    the first that no longer holds it ("removed", size 0)."""
    snapshot: str
    started: datetime
    path: bytes
    change: str
    size: int = 0
    digest: str = ""

    def to_json(self) -> dict:
        return {"snapshot": self.snapshot, "started": self.started.isoformat(), "path": show(self.path),
                "change": self.change, "size": self.size, "checksum": self.digest}


def show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def inside(path: bytes) -> bytes:
    """The path inside its source (the manifest path without `<source>/`)."""
    return path.split(b"/", 1)[1] if b"/" in path else path


def glob_matcher(pattern: str):
    """A test of manifest paths: the shell glob (`*` also matches `/`) against the path inside
    the source or the whole `<source>/…` path."""
    wanted = os.fsencode(pattern).strip(b"/")
    matches = re.compile(fnmatch.translate(wanted.decode("latin-1")).encode("latin-1"), re.DOTALL).match
    return lambda path: matches(path) is not None or matches(inside(path)) is not None


def exact_matcher(path_text: str):
    """A test of manifest paths: equal to `path_text`, as `<source>/…` or inside a source."""
    wanted = os.fsencode(path_text).strip(b"/")
    return lambda path: path == wanted or inside(path) == wanted


def unchanged(before: tuple[str, int], entry) -> bool:
    """The same version: same size, and the same checksum when both are of one algorithm
    (sha256 of a version-1 manifest is 64 hex digits, xxh128 32: across them, size only)."""
    digest, size = before
    return size == entry.size and (len(digest) != len(entry.digest) or digest == entry.digest)


def find(snapshots, entries_of, match):
    """Yield a Sighting for every matching file of every snapshot (oldest first).
    entries_of(snapshot, match) -> the manifest Entries whose path `match`es (a pre-filter
    on the raw lines), or None when the snapshot has no manifest (skipped)."""
    last: dict[bytes, tuple[str, int]] = {}
    for snapshot in snapshots:
        entries = entries_of(snapshot, match)
        if entries is None:
            continue
        present = {}
        for entry in entries:
            if match(entry.path):
                before = last.get(entry.path)
                change = "new" if before is None else "same" if unchanged(before, entry) else "changed"
                present[entry.path] = (entry.digest, entry.size)
                yield Sighting(snapshot.id, snapshot.started, entry.path, entry.size, entry.digest, change)
        last = present


def log(snapshots, entries_of, match) -> list[Version]:
    """The versions of the matching file(s), newest first: where each appeared, changed
    (checksum or size) or disappeared, over snapshots given oldest first."""
    versions, last = [], {}
    for snapshot in snapshots:
        entries = entries_of(snapshot, match)
        if entries is None:
            continue
        present = {}
        for entry in entries:
            if match(entry.path):
                present[entry.path] = (entry.digest, entry.size)
                before = last.get(entry.path)
                if before is None or not unchanged(before, entry):
                    change = "added" if before is None else "changed"
                    versions.append(Version(snapshot.id, snapshot.started, entry.path, change, entry.size,
                                            entry.digest))
        versions += [Version(snapshot.id, snapshot.started, path, "removed") for path in sorted(set(last) - set(present))]
        last = present
    return versions[::-1]


def matching(manifest, match):
    """The Entries of a manifest (verify.manifest.Manifest) whose path `match`es, testing the
    raw lines first: only the matches are parsed."""
    from travelsync.verify.manifest import parse_line, unescape

    version = manifest.version
    for line in manifest.reader:
        if line.startswith(b"#"):
            continue
        tab = line.find(b"\t")
        if tab < 0:
            continue
        path = line[:tab]
        if b"\\" in path:
            path = unescape(path)
        if match(path):
            yield parse_line(line, version)
