"""travelsync's own folders inside a source: left out of the backup automatically (pure).

A repository inside a source would back itself up: every snapshot would hold a copy of all
earlier ones. Each source therefore gets an rsync exclude rule for the repository and for
travelsync's state folder when they lie inside it; a source inside the repository is refused
by the schema. Paths are compared as real paths (symlinks resolved as far as they exist), as
rsync sees them below the transfer root.
"""

import os
import re

_WILDCARDS = re.compile(r"[*?\[]")


def real(path) -> str:
    return os.path.realpath(os.fspath(path))


def inside(child, parent) -> bool:
    """Is `child` the folder `parent` or below it (real paths)?"""
    child, parent = real(child), real(parent)
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def rsync_literal(text: str) -> str:
    """A name as an rsync pattern matching only itself: rsync reads a backslash as an escape
    only when the pattern holds a wildcard, so escape only then (and escape every one)."""
    return re.sub(r"([*?\[\\])", r"\\\1", text) if _WILDCARDS.search(text) else text


def anchored_rule(folder, source) -> str | None:
    """The exclude rule for `folder` below the source root `source`, anchored at the transfer
    root (`/rel/path/`: this folder only, not a same-named one deeper); None if not below it."""
    folder_real, source_real = real(folder), real(source)
    if folder_real == source_real or not inside(folder_real, source_real):
        return None
    return "/" + rsync_literal(os.path.relpath(folder_real, source_real)) + "/"
