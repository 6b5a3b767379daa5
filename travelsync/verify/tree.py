"""sha256 of a local tree's files, streaming (no list of all files): for verifying the
version-1 manifests of older snapshots (version 2 is checked by rsync, verify/sums.py)."""

import hashlib
import os
import stat

CHUNK = 1 << 20


def walk_files(root, prefix: bytes = b""):
    """Yield (relative path bytes, size, mtime_ns) of every regular file under `root`, sorted
    by name per folder; symlinks are not followed."""
    root = os.fsencode(root)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        name = prefix + entry.name
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            yield from walk_files(entry.path, name + b"/")
        elif stat.S_ISREG(info.st_mode):
            yield name, info.st_size, info.st_mtime_ns


def sha256_file(path) -> str:
    """Raw os.read: a buffered read(1 MiB) would allocate a megabyte for every small file."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def hash_files(root):
    """Yield (relative path bytes, sha256 hex) of every regular file under `root`."""
    root = os.fsencode(root)
    for path, _size, _mtime in walk_files(root):
        yield path, sha256_file(os.path.join(root, path))
