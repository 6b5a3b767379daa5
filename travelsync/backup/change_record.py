"""Record a snapshot's change list against its parent while the backup runs (the format:
repository/change_list.py). Nothing is walked a second time:

- added and changed: every item rsync itemizes as not unchanged against --link-dest (files,
  folders, symlinks, devices; a new hard link with the file it links to, so that a restore
  of the list links them again);
- deleted: only a folder whose times or mode changed can have lost an entry (an entry added,
  removed or renamed changes its folder's mtime, which rsync compares like a file's). Those
  folders alone are listed on both sides afterwards (resources/remote/deleted.sh: no stat
  of their entries), plus what rsync said vanished;
- the records go to a local spool as they come and are put in order by `sort -z` at the
  end: memory stays flat however much changed.

The list is `scope: whole` (a delta restore across it restores the whole tree) for a full
(copied afresh, with nothing compared against the previous snapshot: a full must share
nothing with it, and working out its changes would need the second walk this avoids), a
resumed or retried backup (rsync then compares with what the partial already holds), a
source rsync could not copy completely, and excludes that differ from the parent's (what a
new exclude leaves out changes no folder's mtime).
"""

import hashlib
import os
import re
import subprocess
import tempfile

from travelsync.repository import change_list, layout
from travelsync.rsync.itemize import FOLLOWER, unescape_name

_ESCAPE = {1: b"\x03\x04", 2: b"\x03\x05", 3: b"\x03\x06"}
_UNESCAPE = re.compile(rb"\x03([\x04-\x06])")
ADDED_CODE = "+" * 9


def sort_record(tag: bytes, path: bytes) -> bytes:
    """A record whose bytes sort (LC_ALL=C) in component order: components joined by \\x02,
    the tag after \\x01, bytes 1–3 of names escaped above both (order kept)."""
    if b"\x01" in path or b"\x02" in path or b"\x03" in path:
        path = bytes(path).replace(b"\x03", _ESCAPE[3]).replace(b"\x01", _ESCAPE[1]).replace(b"\x02", _ESCAPE[2])
    return path.replace(b"/", b"\x02") + b"\x01" + tag + b"\0"


def from_sort_record(record: bytes) -> tuple[bytes, bytes]:
    """(tag, path) of a sort_record (without its NUL)."""
    encoded, _, tag = record.rpartition(b"\x01")
    path = encoded.replace(b"\x02", b"/")
    if b"\x03" in path:
        path = _UNESCAPE.sub(lambda m: bytes((m.group(1)[0] - 3,)), path)
    return tag, path


def filters_fingerprint(config) -> str:
    """What decides which files a backup takes, per source: a change means the lists of the
    two snapshots cannot be joined (an exclude added leaves out files no folder saw go)."""
    text = repr(sorted((s.name, str(s.path), tuple(s.excludes), tuple(s.filters), s.one_file_system)
                       for s in config.sources))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def parent_filters(repository, parent_id: str) -> str | None:
    """The filters fingerprint in the parent's change list, or None when it has none."""
    handle = repository.store.open_for_reading(f"{layout.SNAPSHOTS}/{parent_id}/{change_list.FILE_NAME}")
    if handle is None:
        return None
    try:
        return change_list.Reader(handle).filters
    except change_list.Damaged:
        return None
    finally:
        handle.close()


class ChangeRecorder:
    """The change list of the snapshot being taken. `watch(source, on_item, first_attempt)`
    wraps rsync's on_item for one attempt; `finish(source, result)` after the source's rsync
    succeeded; `write()` puts changes.zst into the partial snapshot (before snapshot.json,
    so the commit makes it durable with the data)."""

    def __init__(self, config, repository, partial: str, parent, kind: str, resumed: bool):
        self.config, self.repository, self.partial = config, repository, partial
        self.parent = parent if kind == "incremental" else None
        self.filters = filters_fingerprint(config)
        self.whole = None  # why the list is not kept (scope whole), or None
        if kind != "incremental" or parent is None:
            self.whole = "a full backup"
        elif resumed:
            self.whole = "a resumed backup"
        elif parent_filters(repository, parent.id) != self.filters:
            self.whole = "the parent has no change list with the same excludes"

    def __enter__(self):
        self.spool = tempfile.TemporaryFile(prefix="travelsync-changes-")
        self.folders = None
        if self.whole is None and self.parent.sources:  # a source no longer backed up went whole
            for name in set(self.parent.sources) - {source.name for source in self.config.sources}:
                self._add(change_list.DELETED, name.encode())
        return self

    def __exit__(self, *exc):
        self.spool.close()
        if self.folders is not None:
            self.folders.close()
        return False

    def _add(self, tag: bytes, path: bytes) -> None:
        self.spool.write(sort_record(tag, path))

    def watch(self, source, on_item, first_attempt: bool):
        """on_item for one rsync attempt of `source` that records each changed item, then
        hands it on."""
        if not first_attempt:
            self.whole = self.whole or "a retried transfer"
        if self.whole is not None:
            return on_item
        if self.folders is not None:
            self.folders.close()
        self.folders = tempfile.TemporaryFile(prefix="travelsync-folders-")
        prefix = source.name.encode()
        root = os.fsencode(self.repository.store.absolute(f"{self.partial}/{layout.DATA}/{source.name}")) \
            if not self.repository.location.is_remote else None

        def record(code: str, name: str) -> None:
            self._item(prefix, root, code, name.encode("utf-8", "surrogateescape"))
            if on_item is not None:
                on_item(code, name)

        return record

    def _item(self, prefix: bytes, root, code: str, name: bytes) -> None:
        kind, changes = code[1:2], code[2:11]
        if code.startswith("*"):
            self.whole = self.whole or "rsync deleted in the partial snapshot"
            return
        if kind == "L":
            name = _before(name, b" -> ", root)
        leader = None
        if FOLLOWER in name:
            follower = _before(name, FOLLOWER, root)
            leader = unescape_name(name)[len(follower) + len(FOLLOWER):] if unescape_name(name).startswith(follower) \
                else None
            relative = follower
        else:
            relative = unescape_name(name)
        relative = relative.rstrip(b"/")
        path = prefix if relative in (b".", b"") else prefix + b"/" + relative
        added = changes == ADDED_CODE
        if kind == "d":
            self._add(change_list.ADDED if added else change_list.FOLDER, path)
            if not added:
                self.folders.write(b"./" + relative + b"\0" if relative not in (b".", b"") else b".\0")
            return
        self._add(change_list.ADDED if added else change_list.CHANGED, path)
        if leader:
            self._add(change_list.CHANGED, prefix + b"/" + leader)

    def finish(self, source, result) -> None:
        """The source's rsync succeeded: what went from its changed folders, and what vanished."""
        if self.whole is not None:
            return
        if result.failed_count:
            self.whole = "files that could not be backed up"
            return
        prefix = source.name.encode()
        if result.vanished_count:
            if result.vanished_count > len(result.vanished_files):
                self.whole = "more vanished files than were named"
                return
            base = os.fsencode(str(source.path)).rstrip(b"/") + b"/"
            for name in result.vanished_files:
                path = unescape_name(name.encode("utf-8", "surrogateescape"))
                if not path.startswith(base):
                    self.whole = "a vanished file outside its source"
                    return
                self._add(change_list.DELETED, prefix + b"/" + path[len(base):])
        self.folders.flush()
        if not self.folders.tell():
            return
        self.folders.seek(0)
        try:
            for entry in self._deleted(source):
                if entry.startswith(b"./"):
                    self._add(change_list.DELETED, prefix + b"/" + entry[2:])
        except OSError:
            self.whole = "the changed folders could not be listed"

    def _deleted(self, source):
        """The entries (`./dir/name`) of the changed folders that the parent has and the new
        snapshot lacks, streamed (resources/remote/deleted.sh: here, or over ssh)."""
        from travelsync.resources import remote_program

        store = self.repository.store
        parent = str(store.absolute(f"{layout.SNAPSHOTS}/{self.parent.id}/{layout.DATA}/{source.name}"))
        new = str(store.absolute(f"{self.partial}/{layout.DATA}/{source.name}"))
        if self.repository.location.is_remote:
            done = store.run(store.program("deleted.sh", parent, new), input=self.folders.read(), check=False,
                             timeout=3600)
            if done.returncode != 0:
                raise OSError(f"deleted.sh: exit {done.returncode}")
            yield from (entry for entry in done.stdout.split(b"\0") if entry)
            return
        lister = subprocess.Popen(["sh", "-c", remote_program("deleted.sh"), "travelsync", parent, new],
                                  stdin=self.folders, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        pending = b""
        try:
            while chunk := lister.stdout.read(1 << 16):
                entries = (pending + chunk).split(b"\0")
                pending = entries.pop()
                yield from (entry for entry in entries if entry)
        finally:
            lister.stdout.close()
            code = lister.wait()
        if code != 0 or pending:
            raise OSError(f"deleted.sh: exit {code}")

    def write(self) -> None:
        """changes.zst into the partial snapshot: the records sorted (sort -z), one per path."""
        with tempfile.TemporaryFile(prefix="travelsync-changes-") as packed:
            writer = change_list.Writer(packed, self.parent.id if self.parent else None, self.filters,
                                        change_list.WHOLE if self.whole else change_list.LIST)
            if self.whole is None:
                self._sorted_into(writer)
            writer.close()
            packed.seek(0)
            with self.repository.store.open_for_writing(f"{self.partial}/{change_list.FILE_NAME}") as handle:
                while chunk := packed.read(1 << 20):
                    handle.write(chunk)

    def _sorted_into(self, writer) -> None:
        self.spool.flush()
        self.spool.seek(0)
        sorter = subprocess.Popen(["sort", "-z"], stdin=self.spool, stdout=subprocess.PIPE,
                                  env={**os.environ, "LC_ALL": "C"})
        last, pending = None, b""
        while chunk := sorter.stdout.read(1 << 16):
            records = (pending + chunk).split(b"\0")
            pending = records.pop()
            for record in records:
                tag, path = from_sort_record(record)
                if path != last:
                    writer.add(tag, path)
                    last = path
        if sorter.wait() != 0 or pending:
            raise OSError(f"sort -z failed (exit {sorter.returncode}) on the change list")


def _before(name: bytes, marker: bytes, root) -> bytes:
    """The path of an rsync name text that ends with `marker` + something (" -> target",
    " => leader"): the longest candidate that exists in the new snapshot (a name may hold the
    marker itself), else the part before the first marker; unescaped."""
    candidates = []
    start = 0
    while (index := name.find(marker, start)) >= 0:
        candidates.append(unescape_name(name[:index]))
        start = index + 1
    if not candidates:
        return unescape_name(name)
    if root is not None and len(candidates) > 1:
        for candidate in reversed(candidates):
            if os.path.lexists(os.path.join(root, candidate.rstrip(b"/"))):
                return candidate
    return candidates[0]
