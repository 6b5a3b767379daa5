"""Encrypted off-site copies: gocryptfs (crypt.py) between the repository and rsync.

Layout of an encrypted copy (docs/offsite.md):

    COPY/travelsync.repo              format 1, offsite_encryption: gocryptfs
    COPY/gocryptfs.conf               gocryptfs's config: the master key, encrypted with the password
    COPY/snapshots/<id>/snapshot.json the public record: id, kind, parent, times, status, counts and
                                      the fingerprint of the master key it was made with; no names
    COPY/snapshots/<id>/data/         ciphertext of the whole home snapshot folder (its data/,
                                      snapshot.json and manifest), as gocryptfs -reverse shows it

The reverse view is deterministic (the same plaintext at the same path gives the same
ciphertext name and bytes), so `--link-dest` to the previous snapshot's ciphertext turns
unchanged files into hard links in the copy, as at home. Names, contents, the home
snapshot.json (sources, warnings, failed files) and the manifest (every path) travel
encrypted; the snapshot ids (times), the tree's shape and the file sizes do not.

Restore and verify mount a snapshot's ciphertext forward, read-only (fetched into a private
temporary folder first when the copy is over ssh: gocryptfs needs the ciphertext here).
"""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from travelsync.errors import TravelsyncError, UsageError
from travelsync.repository import layout

CONFIG_FILE = "gocryptfs.conf"
FINGERPRINT_KEY = "gocryptfs_key"  # in the public snapshot.json: crypt.key_fingerprint of the master key used


def public_document(info, config_fingerprint: str) -> bytes:
    """The snapshot.json an encrypted copy shows: what its listing, retention and status need
    and nothing that names a file or a source (those travel inside the ciphertext)."""
    document = {"format": 1, "id": info.id, "kind": info.kind, "parent": info.parent,
                "started": info.started.isoformat(), "finished": info.finished.isoformat(),
                "status": info.status, "files": info.files, "bytes": info.bytes,
                FINGERPRINT_KEY: config_fingerprint}
    return (json.dumps(document, indent=2) + "\n").encode()


def mismatch(copy_name: str, target, wanted: str) -> str | None:
    """Why the copy's snapshots cannot be read with this master key (their records name
    another key's fingerprint, crypt.key_fingerprint), or None."""
    for name, document in reversed(target.overview().documents):
        try:
            found = json.loads(document or b"{}").get(FINGERPRINT_KEY)
        except ValueError:
            continue
        if found and found != wanted:
            return (f"off-site copy {copy_name}: snapshot {name} was encrypted with another gocryptfs config "
                    f"than {target.location}/{CONFIG_FILE}")
    return None


def _crypt():
    from travelsync.offsite import crypt

    return crypt


def _private_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))  # 0700


class Keys:
    """The password (from password_command) and the copy's gocryptfs.conf, in a private
    temporary file for gocryptfs's -config while the command runs; never stored otherwise."""

    def __init__(self, copy, password: bytes, config_bytes: bytes | None):
        self.copy, self.password, self.config_bytes = copy, password, config_bytes
        self.fingerprint = None  # crypt.key_fingerprint: the master key's, unchanged by gocryptfs -passwd

    @classmethod
    def for_sync(cls, copy, home, target, environ):
        """Ask the password and, for an existing copy, prove it opens the copy's config (a
        wrong one: WrongPassword, exit 2) and that the copy's snapshots were made with that
        config's key (ConfigMismatch, exit 2), before anything is locked or written."""
        if home.location.is_remote:
            raise UsageError(f"off-site copy {copy.name}: encryption: gocryptfs needs the repository on this "
                             f"machine ({home.location} is not): gocryptfs -reverse mounts its snapshots here",
                             hint="run `offsite sync` on the repository's machine")
        keys = cls._read(copy, target, environ)
        if keys.config_bytes is not None:
            keys.fingerprint = keys.key_fingerprint()  # a mount: gocryptfs refuses a wrong password
            problem = mismatch(copy.name, target, keys.fingerprint)
            if problem is not None:
                raise _crypt().ConfigMismatch(problem, hint="the copy's snapshots and its gocryptfs.conf do not "
                                                            "belong together; put the right config back, or start "
                                                            "a new copy in an empty folder")
        return keys

    @classmethod
    def for_reading(cls, copy, target, environ):
        keys = cls._read(copy, target, environ)
        if keys.config_bytes is None:
            raise _crypt().ConfigMismatch(f"off-site copy {copy.name}: {target.location}/{CONFIG_FILE} is missing: "
                                          "without it the copy cannot be decrypted",
                                          hint="put back the copy of gocryptfs.conf you kept (docs/offsite.md)")
        return keys  # forward_view refuses another config's tree by itself

    @classmethod
    def _read(cls, copy, target, environ):
        password = _crypt().password_from_command(copy.password_command, environ if environ is not None else os.environ)
        config_bytes = target.store.read(CONFIG_FILE) if target.exists() or _has_repo(target) else None
        return cls(copy, password, config_bytes)

    @contextmanager
    def config_file(self):
        """The config bytes as a private file, removed afterwards."""
        folder = _private_folder("travelsync-gocryptfs-")
        try:
            path = folder / CONFIG_FILE
            path.write_bytes(self.config_bytes)
            os.chmod(path, 0o400)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def key_fingerprint(self) -> str:
        with self.config_file() as path:
            return _crypt().key_fingerprint(path, self.password)

    @contextmanager
    def opened(self, target):
        """Under the copy's lock: a Session for the run (the config made first for a new copy)."""
        if self.config_bytes is None:
            folder = _private_folder("travelsync-gocryptfs-")
            try:
                _crypt().init_config(folder / CONFIG_FILE, self.password)
                self.config_bytes = (folder / CONFIG_FILE).read_bytes()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            self.fingerprint = self.key_fingerprint()
        with self.config_file() as path:
            yield Session(self, path)


class Session:
    def __init__(self, keys: Keys, config_path: Path):
        self.keys, self.config_path = keys, config_path
        self.fingerprint = keys.fingerprint

    def check_copy(self, target) -> None:
        """The copy holds this gocryptfs.conf (written now to a new copy, before any data) and
        its snapshots were made with it (ConfigMismatch otherwise, exit 2)."""
        there = target.store.read(CONFIG_FILE)
        if there is None:
            if target.snapshots() or target.damaged:
                raise _crypt().ConfigMismatch(
                    f"off-site copy {self.keys.copy.name}: {target.location}/{CONFIG_FILE} is missing but the copy "
                    "holds snapshots: they cannot be decrypted with a new config",
                    hint="put the copy's gocryptfs.conf back, or point the entry at a new, empty folder")
            target.store.write_atomic(CONFIG_FILE, self.keys.config_bytes)
        elif there != self.keys.config_bytes:
            raise _crypt().ConfigMismatch(f"off-site copy {self.keys.copy.name}: {target.location}/{CONFIG_FILE} "
                                          "changed while this run started")
        problem = mismatch(self.keys.copy.name, target, self.fingerprint)
        if problem is not None:
            raise _crypt().ConfigMismatch(problem, hint="the copy's snapshots and its gocryptfs.conf do not belong "
                                                        "together; restore the right config or start a new copy")

    def reverse(self, plain_dir: str):
        return _crypt().reverse_view(Path(plain_dir), self.config_path, self.keys.password)

    def public_document(self, info) -> bytes:
        return public_document(info, self.fingerprint)


def _has_repo(target) -> bool:
    return target.overview().repo_file is not None


@contextmanager
def plaintext(config, copy, target, keys: Keys, snapshot_id: str):
    """A local, read-only plaintext Path of an encrypted copy's snapshot folder (data/,
    snapshot.json, manifest): the ciphertext mounted forward; over ssh fetched first."""
    cipher_rel = f"{layout.SNAPSHOTS}/{snapshot_id}/{layout.DATA}"
    fetched = None
    try:
        if target.location.is_remote:
            fetched = _private_folder("travelsync-ciphertext-")
            _fetch(config, target, cipher_rel, fetched)
            cipher = fetched
        else:
            cipher = Path(target.store.absolute(cipher_rel))
        with keys.config_file() as path, _crypt().forward_view(cipher, path, keys.password) as plain:
            yield Path(plain)
    finally:
        if fetched is not None:
            shutil.rmtree(fetched, ignore_errors=True)


def _fetch(config, target, rel: str, into: Path) -> None:
    from travelsync.rsync.args import common_args
    from travelsync.rsync.run import run_rsync

    ssh = getattr(target.store, "ssh", config.ssh)
    argv = common_args(config.rsync, ssh, True, progress=False, itemize=False, attributes=False)
    argv += ["--", target.location.child(rel).rsync_spec(trailing_slash=True), str(into) + "/"]
    result = run_rsync(argv)
    if result.exit_code != 0:
        from travelsync.errors import TemporaryError

        error = TemporaryError if result.exit_code in (10, 12, 30, 35, 255) else TravelsyncError
        raise error(f"cannot fetch {target.location}/{rel}: {result.error_summary()}")


__all__ = ["CONFIG_FILE", "Keys", "plaintext"]
