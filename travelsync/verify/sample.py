"""`verify --sample N%`: hash a random N % of a snapshot's files, the weekly check borg and
restic users schedule (`check --verify-data-subset`), at a fraction of the cost.

The manifest is streamed once; each file is chosen with probability N/100 (a fresh seed each
run, so successive samples cover different files); the chosen lines go to a temporary
manifest of their own and their names to rsync's --files-from, so rsync reads only those
files. The comparison is the usual one (verify/check.py) against the chosen lines: a
changed file and a missing one are found; a file that appeared is not (only chosen names
are listed). Version-2 manifests only: sha256 has no rsync to list it by name.
"""

import os
import random
import tempfile

from travelsync.errors import UsageError
from travelsync.history.ordered import OrderedManifest
from travelsync.verify.manifest import HEADER, format_line


class Sample:
    """The chosen part of a manifest, in a temporary file: `open()` gives it as a compressed
    manifest (for verify.check.compare), `names()` the chosen paths; `chosen`, `total`."""

    def __init__(self, open_manifest, percent: float, rng=None):
        import zstandard

        rng = rng or random.Random(os.urandom(16))
        self.manifest = tempfile.NamedTemporaryFile(prefix="travelsync-sample-")  # reopened by name: own offsets
        self.chosen = self.total = 0
        with OrderedManifest(open_manifest) as ordered:
            ordered.in_order()  # the algorithm
            if ordered.algorithm != "xxh128":
                raise UsageError(f"--sample needs a version-2 manifest (xxh128); this one is {ordered.algorithm}",
                                 hint="verify it whole: `travelsync verify ID`")
            writer = zstandard.ZstdCompressor(level=3).stream_writer(self.manifest, closefd=False)
            writer.write(HEADER)
            for entry in ordered:
                self.total += 1
                if rng.random() * 100 < percent:
                    self.chosen += 1
                    writer.write(format_line(entry))
            writer.flush(zstandard.FLUSH_FRAME)

    def open(self):
        """A new stream of the chosen manifest, with its own offset (compare reads it twice,
        rsync's name list once more, meanwhile)."""
        self.manifest.flush()
        return open(self.manifest.name, "rb")

    def names(self):
        """The chosen paths, read back from the chosen manifest."""
        from travelsync.verify.manifest import Manifest

        with self.open() as handle:
            for entry in Manifest(handle):
                yield entry.path

    def close(self) -> None:
        self.manifest.close()


class SampleHashes:
    """A TreeHashes (verify/check.py) restricted to the sample's names: rsync hashes only those."""

    def __init__(self, tree, sample: Sample):
        self.tree, self.sample = tree, sample

    def each(self, algorithm: str, handle) -> None:
        from travelsync.verify.sums import each_checksum

        each_checksum(self.tree.settings, self.tree.ssh, self.tree.root, handle, self.sample.names())
