"""Atomic file replacement: a reader sees the old bytes or the new bytes, never a mix.

Write a temp file in the same folder, give it the mode and owner of the file it replaces,
fsync it, rename it over the target, fsync the folder.  A symlink is replaced at its target,
so the link itself stays.
"""

import json
import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_file_system(path) -> None:
    """Write back every dirty page of the file system holding `path` (syncfs(2)): one call
    makes rsync's files and the manifest durable before a commit names them complete.
    Where syncfs is missing, sync(2) does the same for every file system."""
    import ctypes

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            syncfs = ctypes.CDLL(None, use_errno=True).syncfs
        except (OSError, AttributeError):
            os.sync()
            return
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(path))
    finally:
        os.close(fd)


def atomic_write(path, data: bytes, *, mode: int | None = None, follow_symlinks: bool = True) -> Path:
    """Replace `path` (its symlink target, if it is a link) with `data`; return the real path.

    The new file keeps the old file's mode and owner; `mode` applies to a file that did not
    exist yet (default 0o600: travelsync writes configs that may hold passwords).  The temp
    file is 0600 from its first byte (mkstemp) until the data is written.
    `follow_symlinks=False` (a repository's files): a symlink at `path` is replaced by the new
    file, never written through, and the new file takes `mode`.
    """
    target = Path(os.path.realpath(path)) if follow_symlinks else Path(os.path.abspath(path))
    folder = target.parent
    try:
        old = target.stat() if follow_symlinks else None
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".travelsync-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if old is not None:
                os.fchmod(handle.fileno(), old.st_mode & 0o7777)
                if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                    try:
                        os.fchown(handle.fileno(), old.st_uid, old.st_gid)
                    except PermissionError:
                        pass
            else:
                os.fchmod(handle.fileno(), 0o600 if mode is None else mode)
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)
    return target


def atomic_write_json(path, document, *, mode: int = 0o600) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write(path, text.encode(), mode=mode)


def read_json(path, default=None):
    """The JSON document at `path`, or `default` when the file does not exist."""
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
