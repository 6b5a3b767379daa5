"""What a restore moved aside, and which of it is worth the person's attention.

rsync's `--backup-dir` moves every laptop file the restore overwrites or deletes.  Many of
those are merely the older copy that an earlier restore of this trip put there (a mail that
moved from new/ to cur/ at home): such a file is identical to a snapshot the trip keeps, so
it is removed from the displaced folder.  What stays is what only the laptop had.  After a
crash, rsync's own temporary files (`.name.XXXXXX`) are also left behind and removed here.
"""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from travelsync.restore import places

RSYNC_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class Reference:
    """A snapshot folder a displaced file may equal: (source name, source path, data Location)."""

    source_name: str
    source_path: str
    data: object  # Location of <snapshot>/data/<source>


def is_rsync_temporary(relative: str, existing_names) -> bool:
    """`Mail/cur/.1.AbC123` is rsync's temporary copy of `Mail/cur/1` when that name exists."""
    path = PurePosixPath(relative)
    match = RSYNC_TEMPORARY.match(path.name)
    return bool(match) and str(path.parent / match.group("name")) in existing_names


def tidy(folder, references, ssh, *, after_crash: bool = False) -> list[str]:
    """Remove displaced files identical to a reference snapshot (and, after a crash, rsync's
    temporary files); return what is left, relative to `folder`, sorted. One pass over the
    folder (places.sweep: one ssh session for a laptop over ssh)."""
    removable = set()

    def decide(found):
        for reference in references:
            prefix = str(PurePosixPath(reference.source_path).relative_to("/"))
            inside = {rel: places.relative_to(rel, prefix) for rel in found}
            inside = {rel: sub for rel, sub in inside.items() if sub is not None and rel not in removable}
            if not inside:
                continue
            wanted = set(inside.values())
            if after_crash:
                wanted |= {str(PurePosixPath(s).parent / RSYNC_TEMPORARY.match(PurePosixPath(s).name).group("name"))
                           for s in inside.values() if RSYNC_TEMPORARY.match(PurePosixPath(s).name)}
            in_snapshot = places.stat_files(reference.data, sorted(wanted), ssh)
            for rel, sub in inside.items():
                if after_crash and is_rsync_temporary(sub, in_snapshot):
                    removable.add(rel)
                elif places.same_file(folder.child(rel), reference.data.child(sub), found[rel], in_snapshot.get(sub)):
                    removable.add(rel)
        return sorted(removable)

    found = places.sweep(folder, decide, ssh)
    return sorted(set(found) - removable)
