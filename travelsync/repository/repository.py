"""A travelsync repository (format 1): list, lock, commit, record; local or over ssh alike.

All file operations go through a store (LocalStore or RemoteStore), so the protocol
(write into partial/, snapshot.json last, rename into snapshots/, swap `latest`) is written
once and runs the same on a local disk and over ssh.
"""

import json
import socket
from contextlib import contextmanager
from datetime import datetime

from travelsync.errors import TravelsyncError, UsageError
from travelsync.repository import layout
from travelsync.repository.protected import protected_snapshot_ids
from travelsync.repository.snapshot import DamagedSnapshot, SnapshotInfo, read_snapshot

MAX_RECORDED_RUNS = 100


class Repository:
    def __init__(self, store, environ=None):
        self.store = store
        self.location = store.location
        self.environ = environ
        self._damaged: dict[str, str] = {}  # snapshot id → what is wrong with its snapshot.json
        self._cache: list[SnapshotInfo] | None = None
        self._view = None

    def overview(self, refresh: bool = False):
        """The repository as read in one go (cached until this object changes it)."""
        if self._view is None or refresh:
            self._view = self.store.overview()
            self._cache = None
        return self._view

    def _changed(self) -> None:
        self._view = None
        self._cache = None

    def __str__(self) -> str:
        return str(self.location)

    # -- format
    def check_format(self, *, create_at: datetime | None = None, missing_ok: bool = False) -> None:
        """Refuse a folder that is not a format-1 repository (TravelsyncError, exit 1).

        An empty or missing folder: created as a repository when `create_at` is given, accepted
        untouched with `missing_ok` (a dry run, or the check before the lock: nothing is
        written until the format is known to be ours), refused otherwise.

        Refused as well, before anything is read from it: a repository that a user other than
        root and the user running travelsync could change (repository/trust.py), and a symlink
        where a repository holds none (layout.never_links: it is never followed)."""
        from travelsync.repository import trust

        trust.refuse(self.location, self.store.trust_problem())
        view = self.overview()
        if view.links:
            name, target = view.links[0]
            more = f" (and {len(view.links) - 1} more)" if len(view.links) > 1 else ""
            raise TravelsyncError(f"{self.location}: {name} is a symlink (to {target}){more}; travelsync never "
                                  "follows a symlink inside a repository",
                                  hint=f"remove the link ({self.store.absolute(name)}; rm removes the link, not what "
                                       "it points to) after looking at who made it")
        text = view.repo_file
        if text is not None:
            layout.check_repo_file(text.decode("utf-8", "replace"), str(self.location))
            return
        if create_at is None and not missing_ok:
            raise TravelsyncError(f"{self.location}: no travelsync repository here (no {layout.REPO_FILE})",
                                  hint="the first `travelsync backup` creates it")
        if not view.empty:
            raise TravelsyncError(f"{self.location}: exists, is not empty and is not a travelsync repository",
                                  hint=f"point `repository:` at an empty folder (or one with {layout.REPO_FILE})")
        if create_at is None:
            return
        self.store.makedirs(layout.SNAPSHOTS)
        self.store.makedirs(layout.PARTIAL)
        self.store.write_atomic(layout.REPO_FILE, layout.repo_file_text(create_at, socket.gethostname()).encode())
        self._changed()

    def source_host(self) -> str | None:
        """The host whose backups the repository holds (`travelsync.repo`), or None if unknown."""
        text = self.overview().repo_file
        if text is None:
            return None
        host = layout.check_repo_file(text.decode("utf-8", "replace"), str(self.location)).get("source_host")
        return str(host) if host else None

    def exists(self) -> bool:
        """A repository file is there (after check_format: a format-1 repository)."""
        return self.overview().repo_file is not None

    # -- listing
    def snapshots(self, *, refresh: bool = False) -> list[SnapshotInfo]:
        """Committed snapshots whose snapshot.json is intact (status complete or incomplete),
        oldest first. A snapshot folder whose snapshot.json is missing, unreadable or damaged
        is left out of the list and named in `damaged` and `problems`: it is never used (as
        `latest`, a link-dest parent or a restore source) and never deleted."""
        view = self.overview(refresh)
        if self._cache is not None:
            return list(self._cache)
        found, self._damaged = [], {}
        for name, document in view.documents:
            if not layout.is_snapshot_id(name):
                continue
            try:
                found.append(read_snapshot(name, document, view.unreadable.get(name)))
            except DamagedSnapshot as error:
                self._damaged[name] = str(error)
        found.sort(key=lambda s: (layout.order_key(s.id), s.started, s.id))  # as taken, not by a clock
        self._cache = found
        return list(found)

    @property
    def damaged(self) -> dict[str, str]:
        """Snapshot id → what is wrong with its snapshot.json ("is missing", "is damaged (…)")."""
        self.snapshots()
        return dict(self._damaged)

    def damage_report(self, snapshot_id: str) -> str:
        """One line for the user: which snapshot, which file, what is wrong."""
        return (f"snapshot {snapshot_id}: {self.location}/{layout.SNAPSHOTS}/{snapshot_id}/{layout.SNAPSHOT_FILE} "
                f"{self._damaged[snapshot_id]}")

    @property
    def problems(self) -> list[str]:
        """Everything wrong with the listing, one line each: damaged snapshot.json files, and
        a `latest` link that names a damaged or vanished snapshot."""
        problems = [f"{self.damage_report(name)}; the snapshot is not used" for name in self.damaged]
        latest = self.latest_problem()
        return problems + ([latest] if latest else [])

    def _latest_name(self) -> str | None:
        target = self.overview().latest
        return target.rstrip("/").rsplit("/", 1)[-1] if target else None

    def latest(self) -> SnapshotInfo | None:
        """The snapshot the `latest` link names; when that one is damaged or gone (or there is
        no link), the newest intact snapshot. `latest_problem()` says when it fell back: a
        caller that acts on the result must say so."""
        snapshots = self.snapshots()
        name = self._latest_name()
        for snapshot in snapshots:
            if snapshot.id == name:
                return snapshot
        return snapshots[-1] if snapshots else None

    def latest_problem(self) -> str | None:
        """Why `latest()` is not the snapshot the `latest` link names, or None."""
        snapshots = self.snapshots()
        name = self._latest_name()
        if name is None or any(s.id == name for s in snapshots):
            return None
        fallback = f"the newest intact snapshot is {snapshots[-1].id}" if snapshots else "no snapshot is intact"
        if name in self._damaged:
            what = self._damaged[name].split(" (")[0]  # the details are in the snapshot's own line
            return f"`latest` names {name}, whose {layout.SNAPSHOT_FILE} {what}; {fallback}"
        return f"`latest` names {name}, which does not exist; {fallback}"

    def last_full(self) -> SnapshotInfo | None:
        fulls = [s for s in self.snapshots() if s.kind == "full"]
        return fulls[-1] if fulls else None

    def named(self, snapshot_id: str) -> tuple[str, str | None]:
        """(id, problem) for an id or the names `latest` and `last-full`: `latest` is the
        snapshot the link names even when damaged, `last-full` the newest full folder. The
        problem says what is wrong with its snapshot.json (None: intact). UsageError when no
        snapshot goes by that name."""
        snapshots = self.snapshots()
        if snapshot_id == "latest":
            name, problem = self._latest_name(), self.latest_problem()
            if name in self._damaged:
                return name, self.damage_report(name)
            if problem is not None:  # the link names a snapshot that is gone
                return name, problem
            found = self.latest()
            if found is None:
                raise UsageError(f"{self.location}: no snapshot yet", hint="`travelsync backup` takes one")
            return found.id, None
        if snapshot_id == "last-full":
            fulls = [s.id for s in snapshots if s.kind == "full"]
            fulls += [n for n in self._damaged if layout.kind_of(n) == "full"]
            if not fulls:
                raise UsageError(f"{self.location}: no full snapshot yet", hint="`travelsync backup --full` takes one")
            name = max(fulls, key=layout.order_key)  # the order taken (layout.snapshot_id)
            return name, self.damage_report(name) if name in self._damaged else None
        if snapshot_id in self._damaged:
            return snapshot_id, self.damage_report(snapshot_id)
        if any(s.id == snapshot_id for s in snapshots):
            return snapshot_id, None
        raise UsageError(f"{self.location}: no snapshot {snapshot_id!r}", hint="`travelsync snapshots` lists them")

    def get(self, snapshot_id: str) -> SnapshotInfo:
        """A snapshot by id, or by the names `latest` and `last-full`: UsageError (2) when
        absent, TravelsyncError (1) naming the damage when its snapshot.json is not intact."""
        name, problem = self.named(snapshot_id)
        if problem is not None:
            raise TravelsyncError(problem, hint="the snapshot is left as it is; `travelsync snapshots` lists the "
                                                "intact ones")
        return next(s for s in self.snapshots() if s.id == name)

    def data_location(self, snapshot_id: str, source_name: str):
        """Where source `source_name` of a snapshot lives (a Location, local or remote); with
        "" the snapshot's data/ folder itself."""
        if not source_name:
            return self.location.child(layout.SNAPSHOTS, snapshot_id, layout.DATA)
        return self.location.child(layout.SNAPSHOTS, snapshot_id, layout.DATA, source_name)

    def snapshot_path(self, snapshot_id: str) -> str:
        return self.store.absolute(f"{layout.SNAPSHOTS}/{snapshot_id}")

    # -- runs (for scheduling)
    def no_change_runs(self) -> list[dict]:
        """runs.json's no-change runs, every field checked: DamagedStateFile (exit 2) names the field."""
        from travelsync.statefiles import runs

        return runs.parse(self.store.read(layout.RUNS_FILE), f"{self.location}/{layout.RUNS_FILE}")

    def record_no_change(self, kind: str, started: datetime, finished: datetime, same_as: str) -> None:
        runs = self.no_change_runs()
        runs.append({"kind": kind, "started": started.isoformat(), "finished": finished.isoformat(),
                     "same_as": same_as})
        document = {"no_change": runs[-MAX_RECORDED_RUNS:]}
        self.store.write_atomic(layout.RUNS_FILE, (json.dumps(document, indent=2) + "\n").encode())
        self._changed()

    def successful_runs(self) -> list[tuple[str, datetime]]:
        """(kind, started) of every committed snapshot and recorded no-change run, oldest first.

        An `incomplete` snapshot (rsync 23: a file could not be read) counts as a run: running
        again within the hour would not make that file readable.
        """
        runs = [(s.kind, s.started) for s in self.snapshots()]
        for run in self.no_change_runs():
            try:
                runs.append((run["kind"], datetime.fromisoformat(run["started"])))
            except (KeyError, ValueError, TypeError):
                continue
        return sorted(runs, key=lambda run: run[1])

    # -- protection
    @property
    def protected_ids(self) -> frozenset[str]:
        """Never deleted: latest, the last full, snapshots the trip state depends on."""
        ids = set(protected_snapshot_ids(self.environ))
        for snapshot in (self.latest(), self.last_full()):
            if snapshot is not None:
                ids.add(snapshot.id)
        return frozenset(ids)

    # -- writing (hold the lock)
    def lock(self, command: str, notice=None):
        """Context manager: the repository's one-writer lock (TemporaryError, exit 75, if held)."""
        return self.store.lock(command, notice)

    @contextmanager
    def reading(self, snapshot_id: str):
        """Hold the shared (reader) lock on a snapshot for the block: `prune` leaves it while a
        restore, prepare, finalize, verify or sync-back reads it. UsageError (2) when it was
        deleted before the lock was taken. Readers never wait for each other, nor for a backup."""
        from travelsync.repository.lock import SnapshotGone

        try:
            with self.store.reader_lock(snapshot_id):
                yield
        except SnapshotGone:
            self._changed()
            raise UsageError(f"{self.location}: no snapshot {snapshot_id!r}: it was deleted (pruned) before it "
                             "could be read", hint="`travelsync snapshots` lists the ones there are") from None

    def retire_unless_read(self, snapshot_id: str) -> str | None:
        """Like `retire`, unless a command is reading the snapshot: then None, nothing done."""
        target = f"{layout.PARTIAL}/{snapshot_id}{layout.DELETING_SUFFIX}"
        retired = self.store.retire_unless_read(snapshot_id, target)
        self._changed()
        return target if retired else None

    def partials(self) -> list[str]:
        return list(self.overview().partials)

    def partial_path(self, snapshot_id: str) -> str:
        return f"{layout.PARTIAL}/{snapshot_id}"

    def commit(self, info: SnapshotInfo) -> None:
        """snapshot.json (fsync) → rename partial/<id> into snapshots/ → swap `latest`.

        A crash before the rename leaves only a partial; after it, a complete snapshot (and
        `latest` possibly still on the previous one, which is complete too)."""
        document = (json.dumps(info.to_json(), indent=2) + "\n").encode()
        self.store.commit(self.partial_path(info.id), document, f"{layout.SNAPSHOTS}/{info.id}", layout.LATEST)
        self._changed()

    def retire(self, snapshot_id: str) -> str:
        """Take a snapshot out of the listing at once (rename to partial/<id>.deleting); the slow
        removal (`remove_retired`) can then run without the lock."""
        target = f"{layout.PARTIAL}/{snapshot_id}{layout.DELETING_SUFFIX}"
        self.store.rename(f"{layout.SNAPSHOTS}/{snapshot_id}", target)
        self._changed()
        return target

    def remove(self, rel: str) -> None:
        self.store.remove_tree(rel)
