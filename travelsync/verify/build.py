"""Write a snapshot's manifest at backup time: hash only what changed since the parent.

A file whose size and mtime equal its entry in the parent's manifest is the file rsync
hard-linked (rsync's own quick check), so its checksum is inherited; every other file is hashed.
Both inputs arrive in manifest order and are merged as they stream: memory stays flat.
(A thread pool was measured slower here: per-file work is mostly under the GIL.)
"""

from travelsync.verify.manifest import Entry, ManifestWriter
from travelsync.verify.tree import component_key


def build_manifest(files, parent_entries, hash_file, handle) -> tuple[int, int]:
    """files: (path, size, mtime_ns) in manifest order; parent_entries: Entries in manifest order
    (or empty); hash_file(path) -> sha256 hex. Writes to `handle`; returns (hashed, inherited)."""
    writer = ManifestWriter(handle)
    parent = iter(parent_entries or ())
    current = next(parent, None)
    hashed = inherited = 0
    for path, size, mtime_ns in files:
        if current is not None and current.path != path:
            key = component_key(path)
            while current is not None and component_key(current.path) < key:
                current = next(parent, None)
        if current is not None and current.path == path and current.size == size and current.mtime_ns == mtime_ns:
            writer.add(Entry(path, size, mtime_ns, current.sha256))
            inherited += 1
        else:
            writer.add(Entry(path, size, mtime_ns, hash_file(path)))
            hashed += 1
    writer.close()
    return hashed, inherited
