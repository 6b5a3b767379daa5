"""Repository storage on this machine's file system (a local disk or a mounted NAS).

Nothing inside a repository is followed through a symlink: files are replaced, never written
through a link (`write_atomic`, `open_for_writing`, the lock file), and a link where a
repository holds none is reported by `overview` (Repository.check_format refuses it).
New files are 0600, new folders 0700.
"""

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from travelsync.atomic import atomic_write, fsync_dir, sync_file_system
from travelsync.errors import TravelsyncError
from travelsync.location import Location
from travelsync.repository.commit_state import nothing_committed, unfinished
from travelsync.repository.lock import local_lock, local_reader_lock, retire_unless_read


class LocalStore:
    """File operations on REPO, by paths relative to it; every rename is followed by an fsync
    of the folders involved so a commit survives a power cut."""

    rsync_settings = None  # set by open_repository

    def __init__(self, location: Location):
        self.location = location
        self.root = Path(location.path)

    def absolute(self, rel: str) -> str:
        return str(self.root / rel)

    def read(self, rel: str) -> bytes | None:
        try:
            fd = os.open(self.root / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise TravelsyncError(f"{self.root / rel} is a symlink; travelsync never follows one inside a "
                                      "repository", hint="remove the link, or restore the file it stands for") from None
            raise
        with open(fd, "rb") as handle:
            return handle.read()

    def write_atomic(self, rel: str, data: bytes) -> None:
        atomic_write(self.root / rel, data, mode=0o600, follow_symlinks=False)

    def makedirs(self, rel: str = "") -> None:
        """Every missing folder on the way made 0700 (mkdir's `parents` would make them 0755)."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        path, parts = self.root, Path(rel).parts
        for folder in [path] + [path.joinpath(*parts[:count]) for count in range(1, len(parts) + 1)]:
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                pass

    def trust_problem(self, *, create: bool = False) -> str | None:
        """Why another user could change this repository (repository/trust.py), or None.
        `create`: make the folder first (0700), so that the check sees what will be used."""
        from travelsync.repository import trust
        from travelsync.rsync.trusted_paths import trusted_uids

        if create:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.root.mkdir(mode=0o700)
            except FileExistsError:
                pass
        return trust.problem(os.path.abspath(self.root), trusted_uids(), lstat=os.lstat, readlink=os.readlink,
                             owner=trust.local_owner)

    def misplaced_links(self) -> list[tuple[str, str]]:
        """(name, target) of every symlink where a repository holds none (layout.never_links)."""
        from travelsync.repository import layout

        snapshots, partials = self.listdir(layout.SNAPSHOTS), self.listdir(layout.PARTIAL)
        names = layout.never_links(snapshots, partials, self.listdir(layout.READERS))
        for tree in [f"{layout.SNAPSHOTS}/{n}" for n in snapshots] + [f"{layout.PARTIAL}/{n}" for n in partials]:
            names += layout.source_folders(tree, self.listdir(f"{tree}/{layout.DATA}"))
        found = []
        for rel in names:
            try:
                found.append((rel, os.readlink(self.root / rel)))
            except OSError:  # missing, or not a link
                continue
        return found

    def is_empty_or_missing(self) -> bool:
        """True for a folder a new repository may be created in (the lock file just taken aside)."""
        return not self.root.exists() or (self.root.is_dir() and not [p for p in self.root.iterdir()
                                                                        if p.name != "lock"])

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self.root / rel))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def overview(self):
        from travelsync.repository import layout
        from travelsync.repository.overview import Overview

        view = Overview(self.read(layout.REPO_FILE), self.is_empty_or_missing(), self.readlink(layout.LATEST),
                        self.listdir(layout.PARTIAL), links=self.misplaced_links())
        for entry in self.listdir(layout.SNAPSHOTS):
            if not (self.root / layout.SNAPSHOTS / entry).is_dir():
                continue  # as over ssh: only folders can be snapshots
            try:
                view.documents.append((entry, self.read(f"{layout.SNAPSHOTS}/{entry}/{layout.SNAPSHOT_FILE}")))
            except OSError as error:  # permissions, an I/O error: reported, never a crash
                view.documents.append((entry, None))
                view.unreadable[entry] = error.strerror or str(error)
        return view

    def commit(self, partial: str, document: bytes, target: str, latest: str) -> None:
        """syncfs (the data and manifest durable) → snapshot.json (fsync) → rename partial into
        snapshots/ → swap the `latest` link."""
        from travelsync.repository import layout

        try:
            sync_file_system(self.root / partial)
            self.write_atomic(f"{partial}/{layout.SNAPSHOT_FILE}", document)
            os.rename(self.root / partial, self.root / target)  # the commit point
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise  # the engine's "no space left on <repository>", with its hint
            raise nothing_committed(f"{error.strerror or error} ({error.filename or self.root})", partial) from error
        try:
            fsync_dir((self.root / partial).parent)
            fsync_dir((self.root / target).parent)
            self.swap_symlink(latest, target)
        except OSError as error:
            self._drop_temporary_link(latest)
            raise unfinished(Path(target).name, error.strerror or str(error), target, self.readlink(latest)) from error

    def _drop_temporary_link(self, name: str) -> None:
        try:
            (self.root / f".{name}.{os.getpid()}.tmp").unlink()
        except OSError:
            pass

    def rename(self, source: str, target: str) -> None:
        os.rename(self.root / source, self.root / target)
        fsync_dir((self.root / source).parent)
        fsync_dir((self.root / target).parent)

    def swap_symlink(self, name: str, target: str) -> None:
        temporary = self.root / f".{name}.{os.getpid()}.tmp"
        if temporary.is_symlink():
            temporary.unlink()
        os.symlink(target, temporary)
        os.replace(temporary, self.root / name)
        fsync_dir(self.root)

    def readlink(self, name: str) -> str | None:
        try:
            return os.readlink(self.root / name)
        except (FileNotFoundError, OSError):
            return None

    def remove_tree(self, rel: str) -> None:
        path = self.root / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)

    @contextmanager
    def lock(self, command: str, notice=None):
        """The flock on REPO/lock; nothing is made or written before the block is entered.
        A new repository folder is private (0700): others cannot read the backups, and rsync
        may skip its symlink-race walk there (rsync/trusted_paths.py). The folder is made
        first, then checked (repository/trust.py): one another user made in between is refused
        before anything is opened in it; a `lock` that is not a plain file is refused too."""
        from travelsync.repository import layout, trust

        trust.refuse(self.location, self.trust_problem(create=True))
        with local_lock(self.root / layout.LOCK_FILE, command, str(self.location), notice) as held:
            yield held

    def reader_lock(self, snapshot_id: str):
        """Context manager: a shared lock on snapshot `snapshot_id` for as long as a command
        reads it (SnapshotGone when it was deleted before the lock was taken)."""
        from travelsync.repository import layout

        folder = self.root / layout.SNAPSHOTS / snapshot_id
        return local_reader_lock(self.root / layout.READERS / snapshot_id,
                                 lambda: folder.is_dir() and not folder.is_symlink(), str(self.location))

    def retire_unless_read(self, snapshot_id: str, target: str) -> bool:
        """Rename snapshots/<id> to `target` unless a reader holds it (then False, nothing done)."""
        from travelsync.repository import layout

        return retire_unless_read(self.root / layout.READERS / snapshot_id,
                                  lambda: self.rename(f"{layout.SNAPSHOTS}/{snapshot_id}", target))

    def file_hashes(self, rel: str):
        """The files under rel, hashed when a manifest asks (verify.check.TreeHashes)."""
        from travelsync.verify.check import TreeHashes
        from travelsync.verify.tree import hash_files

        return TreeHashes(lambda: hash_files(self.root / rel), self.rsync_settings, None,
                          Location(self.absolute(rel)))

    def open_for_reading(self, rel: str):
        """A binary file object, or None when the file does not exist."""
        try:
            return open(self.root / rel, "rb")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def open_for_writing(self, rel: str):
        """A new file (0600) in place of whatever was there; a symlink there is replaced, not followed."""
        path = self.root / rel
        if path.is_symlink():
            path.unlink()
        return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "wb")
