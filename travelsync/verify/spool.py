"""The manifest of the snapshot being taken, spooled while rsync streams its listing
(verify/build.py builds the lines), then copied into the partial snapshot before its commit.

    with ManifestSpool(config, repository, partial, parent) as manifest:
        builder = manifest.start(source, first_attempt=True)   # per rsync attempt
        ... rsync's listing lines → builder.add_lines ...
        manifest.finish(builder)
        manifest.write()
"""

import os
import tempfile

from travelsync.location import Location
from travelsync.repository import layout
from travelsync.verify.build import ParentEntries, SourceManifest, candidates_resolver
from travelsync.verify.manifest import VERSION, Manifest, SectionSpool
from travelsync.verify.sums import checksums_of


class ManifestSpool:
    """manifest.tsv.zst of the snapshot being taken, built from rsync's listing as it streams
    (verify/build.py) and compressed as it comes into a local temp file, one section per
    source (a retried source starts its section again); copied into partial/<id>/ at the end.

    Checksums come from rsync (`%C`) or, for unchanged files, from the parent's manifest;
    the few files left (hard-link followers, files already in a resumed partial) are hashed
    by rsync in batches: from the snapshot, or from the source for a remote repository."""

    def __init__(self, config, repository, partial, parent):
        """`partial`: the snapshot's folder in the repository; `parent`: the SnapshotInfo an
        incremental links to (its manifest's checksums are inherited), else None."""
        self.config, self.repository, self.partial = config, repository, partial
        self.parent_handle = self.parent = None
        self.builders = []
        if parent is not None:
            handle = repository.store.open_for_reading(f"{layout.SNAPSHOTS}/{parent.id}/{layout.MANIFEST_FILE}")
            if handle is not None:
                self.parent_handle = handle
                manifest = Manifest(handle)
                if manifest.version == VERSION:  # an older manifest's checksums cannot be inherited
                    self.parent = ParentEntries(manifest)

    def __enter__(self):
        self.file = tempfile.TemporaryFile(prefix="travelsync-manifest-")
        self.spool = SectionSpool(self.file)
        return self

    def __exit__(self, *exc):
        self.file.close()
        if self.parent_handle is not None:
            self.parent_handle.close()
        return False

    def start(self, source, first_attempt: bool):
        """A SourceManifest for one rsync attempt of `source` (its section restarted)."""
        if self.builders and self.builders[-1][0] == source.name:
            self.builders.pop()
            self.spool.restart()
        else:
            self.spool.begin()
        if self.repository.location.is_remote:
            root = source.path  # the source rsync just sent from (the repository is far away)
        else:
            root = self.repository.store.absolute(f"{self.partial}/{layout.DATA}/{source.name}")
        root_location = Location(str(root))

        def hash_names(names):
            return checksums_of(self.config.rsync, None, root_location, names)

        builder = SourceManifest(source.name, self.spool, self.parent if first_attempt else None, hash_names,
                                 candidates_resolver(os.fsencode(str(root))))
        self.builders.append((source.name, builder))
        return builder

    def finish(self, builder) -> None:
        """The source's rsync succeeded: its last lines, then close its section."""
        builder.finish()
        self.spool.end()

    def counts(self) -> dict:
        builders = [builder for _, builder in self.builders]
        return {"hashed": sum(b.hashed for b in builders), "from_rsync": sum(b.sent for b in builders),
                "inherited": sum(b.inherited for b in builders)}

    def write(self) -> None:
        """Copy the compressed spool to partial/<id>/manifest.tsv.zst."""
        self.file.seek(0)
        # straight to its name: partial/ is invisible until the commit, which fsyncs the folder
        with self.repository.store.open_for_writing(f"{self.partial}/{layout.MANIFEST_FILE}") as handle:
            while chunk := self.file.read(1 << 20):
                handle.write(chunk)
