"""The benchmark's data: a seeded tree of mixed-size files and a seeded 1 % change that can be undone.

Every round must back up the same tree and apply the same change, so the change keeps what it
overwrote or deleted (in a stash folder) and `undo` puts the tree back byte for byte, mtimes included.
"""

import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

TOP_FOLDERS = ("Mail", "Documents", "src", "Photos")  # the laptop paths restore all of them
PER_FOLDER = 400


def _data(block: bytes, rng: random.Random, size: int) -> bytes:
    """`size` bytes cut from a random block at a random offset (incompressible, cheap to make)."""
    offset = rng.randrange(0, len(block))
    if size <= len(block):
        return (block[offset:] + block[:offset])[:size]
    return (block * (size // len(block) + 1))[offset:offset + size]


MAILDIR = Path("Mail") / "Maildir" / "cur"  # one big mail folder (the 1m profile: 150,000 messages)


def generate_tree(root: Path, files: int, total_bytes: int, seed: int = 7, maildir: int = 0) -> int:
    """`files` files of mixed sizes (log-normal: many small, a few large) adding up to about
    `total_bytes`, spread over TOP_FOLDERS with PER_FOLDER files to a subfolder; the first
    `maildir` of them are messages in one Maildir folder (MAILDIR, message-sized: the
    smallest weights). Returns the bytes written."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 1.6) for _ in range(files)]
    scale = total_bytes / sum(weights)
    block = random.Random(seed + 1).randbytes(1 << 20)
    written = 0
    made = set()
    maildir = min(maildir, files)
    if maildir:
        (root / MAILDIR).mkdir(parents=True, exist_ok=True)
        for index in range(maildir):  # a message: a few KiB, whatever the tree's mean
            size = min(max(1, int(weights[index] * scale)), 20_000 + index % 60_000)
            (root / MAILDIR / f"{1733000000 + index}.M{index}P{seed}.home:2,S").write_bytes(_data(block, rng, size))
            written += size
    for index, weight in enumerate(weights):
        if index < maildir:
            continue
        top = TOP_FOLDERS[index % len(TOP_FOLDERS)]
        folder = root / top / f"d{index // (PER_FOLDER * len(TOP_FOLDERS)):04d}"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        size = max(1, int(weight * scale))
        (folder / f"f{index:06d}.dat").write_bytes(_data(block, rng, size))
        written += size
    return written


@dataclass
class Change:
    """What `apply_change` did, and what it needs to undo it."""

    modified: list = field(default_factory=list)
    added: list = field(default_factory=list)
    deleted: list = field(default_factory=list)
    stash: Path | None = None

    def counts(self) -> dict:
        return {"modified": len(self.modified), "added": len(self.added), "deleted": len(self.deleted)}


def apply_change(root: Path, stash: Path, seed: int = 11, fraction: float = 0.01) -> Change:
    """Change `fraction` of the files: 60 % of that number modified (rewritten, new size), 25 %
    added, 15 % deleted. Originals go to `stash` first."""
    rng = random.Random(seed)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and (p.suffix == ".dat" or p.parent.name == "cur"))
    count = max(10, int(len(paths) * fraction))
    n_modified, n_added = int(count * 0.6), max(1, int(count * 0.25))
    n_deleted = count - n_modified - n_added
    chosen = rng.sample(paths, n_modified + n_deleted)
    change = Change(stash=stash)
    stash.mkdir(parents=True, exist_ok=True)
    block = rng.randbytes(1 << 16)
    for number, path in enumerate(chosen):
        kept = stash / f"{number:06d}"
        shutil.copy2(path, kept)
        if number < n_modified:
            size = max(1, int(path.stat().st_size * rng.uniform(0.5, 1.5)))
            path.write_bytes(_data(block, rng, size))
            change.modified.append((path, kept))
        else:
            path.unlink()
            change.deleted.append((path, kept))
    folders = sorted({p.parent for p in paths})
    for number in range(n_added):
        path = rng.choice(folders) / f"new{seed}-{number:05d}.dat"
        path.write_bytes(_data(block, rng, rng.randint(100, 60_000)))
        change.added.append(path)
    return change


def undo_change(change: Change) -> None:
    """Put the tree back as it was before `apply_change` (contents and mtimes)."""
    for path in change.added:
        path.unlink(missing_ok=True)
    for path, kept in change.modified + change.deleted:
        shutil.copy2(kept, path)
    if change.stash is not None:
        shutil.rmtree(change.stash, ignore_errors=True)


def tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) of the regular files under `root`."""
    files = size = 0
    for folder, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(folder, name)).st_size
    return files, size
