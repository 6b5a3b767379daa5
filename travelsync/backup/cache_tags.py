"""Folders a backup leaves out because they say so: a valid `CACHEDIR.TAG` (the Cache
Directory Tagging spec, `exclude_caches`), or a file named in `exclude_if_present`.

rsync has no such rule (its per-directory merge files hold rules, not markers, and cannot
check a signature), so a walk of the source finds them before rsync runs: os.scandir, no
symlink followed, no descent into a folder already left out, none across file systems
with `one_file_system`. Each folder found becomes two rules anchored at the source root,
as tar's --exclude-caches does it: the marker file is kept, everything else in the folder
is left out, so a restored tree is still marked. A tag whose first bytes are not the exact
signature is not honoured (the spec's guard against a file that merely has the name).
"""

import os
import re
import stat
from dataclasses import replace

CACHE_TAG = b"CACHEDIR.TAG"
SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
_SPECIAL = re.compile(rb"([*?\[\\])")
_WILDCARD = re.compile(rb"[*?\[]")


def is_cache_tag(path: bytes) -> bool:
    """A regular file (not a symlink, not a FIFO that would block) beginning with SIGNATURE."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(handle).st_mode) and os.read(handle, len(SIGNATURE)) == SIGNATURE
    except OSError:
        return False
    finally:
        os.close(handle)


def tagged_folders(root, markers=(), caches: bool = True, one_file_system: bool = False):
    """Yield (folder relative to root, marker name) for each folder to leave out, as bytes,
    walking depth first. Only subfolder names are kept while a folder is read (a Maildir of
    100,000 messages costs no memory). Unreadable folders are passed over (rsync reports them)."""
    root = os.fsencode(root)
    markers = frozenset(os.fsencode(m) for m in markers)
    device = os.stat(root).st_dev  # the source itself may be a symlink to its folder
    pending = [b""]
    while pending:
        rel = pending.pop()
        folder = os.path.join(root, rel) if rel else root
        tagged, marker, subfolders = False, None, []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    name = entry.name
                    if name == CACHE_TAG:
                        tagged = caches
                    if name in markers:  # CACHEDIR.TAG may be one too: then its presence is enough
                        marker = marker or name
                    elif name != CACHE_TAG and _is_folder(entry, one_file_system, device):
                        subfolders.append(name)
        except OSError:
            continue
        if tagged and is_cache_tag(os.path.join(folder, CACHE_TAG)):
            yield rel, CACHE_TAG
        elif marker is not None:
            yield rel, marker
        else:
            pending.extend(os.path.join(rel, name) if rel else name for name in reversed(subfolders))


def _is_folder(entry, one_file_system: bool, device: int) -> bool:
    """A real folder (not a symlink to one) to descend into: on `device` with one_file_system."""
    try:
        if not entry.is_dir(follow_symlinks=False):
            return False
        return not one_file_system or entry.stat(follow_symlinks=False).st_dev == device
    except OSError:
        return False


def rules_for(rel: bytes, marker: bytes) -> list[str]:
    """rsync arguments keeping `rel/marker` and leaving out the rest of `rel` (anchored at the
    transfer root; every wildcard character in the names escaped)."""
    base = b"/" + _SPECIAL.sub(rb"\\\1", rel) + b"/" if rel else b"/"
    kept = b"/" + (rel + b"/" if rel else b"") + marker
    keep = _SPECIAL.sub(rb"\\\1", kept) if _WILDCARD.search(kept) else kept  # rsync: escapes only with wildcards
    return [f"--include={os.fsdecode(keep)}", f"--exclude={os.fsdecode(base)}*"]


MERGE_FILES = "--filter=dir-merge /.rsync-filter"  # rsync -F


def with_tagged_folders(config, notice=lambda message: None):
    """The config with each source's `filters` set: rsync -F's rule with `rsync_filter_files`,
    then the rules for the folders a walk finds (no walk when neither `exclude_caches` nor
    `exclude_if_present` asks)."""
    merge = (MERGE_FILES,) if config.rsync_filter_files else ()
    if not config.exclude_caches and not config.exclude_if_present:
        return replace(config, sources=tuple(replace(s, filters=merge) for s in config.sources)) if merge else config
    sources = []
    for source in config.sources:
        found = list(tagged_folders(source.path, config.exclude_if_present, config.exclude_caches,
                                    source.one_file_system))
        if found:
            caches = sum(1 for _, marker in found if marker == CACHE_TAG)
            parts = [f"{caches} cache folder{'s' * (caches != 1)} (CACHEDIR.TAG)"] if caches else []
            if len(found) > caches:
                parts.append(f"{len(found) - caches} marked with {', '.join(config.exclude_if_present)}")
            notice(f"source {source.name}: left out the contents of {' and '.join(parts)}")
        rules = merge + tuple(rule for rel, marker in found for rule in rules_for(rel, marker))
        sources.append(replace(source, filters=rules))
    return replace(config, sources=tuple(sources))
