"""What changed between two snapshots (pure): a streaming merge of their manifests, both in
path_key order (history/ordered.py). Memory: two entries at a time, plus what is reported.

A manifest lists regular files (path, size, checksum): added, removed and changed files
(content, size) are what it can tell; folders, symlinks, owners and modes are not in it.
"""

from dataclasses import dataclass, field

from travelsync.history.ordered import path_key


@dataclass
class Totals:
    """Counts and bytes of each kind of difference (`size` of the newer side; a removed
    file's size as it was)."""
    added: int = 0
    added_bytes: int = 0
    removed: int = 0
    removed_bytes: int = 0
    changed: int = 0
    changed_bytes_before: int = 0
    changed_bytes_after: int = 0
    unchanged: int = 0

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Difference:
    kind: str  # "added" | "removed" | "changed"
    path: bytes
    before: object = None  # manifest Entry (None when added)
    after: object = None  # manifest Entry (None when removed)
    what: tuple = ()  # for "changed": ("content",) and/or ("size",)


def under(path: bytes, prefix: bytes | None) -> bool:
    """`path` is `prefix` or lies below it (prefix None: everything)."""
    return prefix is None or path == prefix or path.startswith(prefix.rstrip(b"/") + b"/")


def differences(before, after, *, same_algorithm: bool = True, prefix: bytes | None = None, totals=None):
    """Yield the Differences between two entry streams in path_key order. With different
    checksum algorithms (a version-1 manifest against a version-2 one) only sizes compare.
    `totals` (a Totals) is filled as the merge goes."""
    totals = totals if totals is not None else Totals()
    old, new = iter(before), iter(after)
    a, b = next(old, None), next(new, None)
    while a is not None or b is not None:
        if a is not None and b is not None and a.path != b.path:  # equal paths (the usual case) need no key
            key_a, key_b = path_key(a.path), path_key(b.path)
        else:
            key_a = key_b = None
        if b is None or (key_a is not None and key_a < key_b):
            if under(a.path, prefix):
                totals.removed += 1
                totals.removed_bytes += a.size
                yield Difference("removed", a.path, before=a)
            a = next(old, None)
        elif a is None or (key_b is not None and key_b < key_a):
            if under(b.path, prefix):
                totals.added += 1
                totals.added_bytes += b.size
                yield Difference("added", b.path, after=b)
            b = next(new, None)
        else:
            if under(a.path, prefix):
                what = tuple(w for w, differs in (("content", same_algorithm and a.digest != b.digest),
                                                  ("size", a.size != b.size)) if differs)
                if what:
                    totals.changed += 1
                    totals.changed_bytes_before += a.size
                    totals.changed_bytes_after += b.size
                    yield Difference("changed", a.path, a, b, what)
                else:
                    totals.unchanged += 1
            a, b = next(old, None), next(new, None)
