"""How much disk a snapshot holds on its own, and how much a prune frees, from GNU `du`.

Snapshots share files through hard links (an incremental links every unchanged file to its
parent), so a snapshot's size says little about what deleting it gives back. `du -s` counts
an inode once across all its arguments, in their order: `du -s A C B` prints for B the
blocks of B that are in neither A nor C. A snapshot's own size is that figure with its two
neighbours (in the order taken) first: rsync links only to the parent, so a file an
incremental shares with any snapshot it shares with its neighbours too. The space a prune
frees is the figure for the doomed snapshots with the kept neighbours of each run of doomed
ones first. Disk blocks are counted (du's default), not file lengths: what the disk gets back.
Links from outside the repository are not seen.

du runs where the repository is (over ssh for a remote one); None when it cannot.
"""

import shlex

from travelsync.repository import layout


def disk_usage(repository, rels: list[str]) -> list[int] | None:
    """du's figure for each folder (relative to the repository), in order, each inode counted
    once across all; None when du fails or prints something else."""
    if not rels:
        return []
    from travelsync.errors import TravelsyncError

    paths = [repository.store.absolute(rel) for rel in rels]
    try:
        if repository.location.is_remote:
            done = repository.store.run("du -s -B1 -- " + " ".join(shlex.quote(p) for p in paths), check=False,
                                        timeout=3600)
        else:
            from travelsync.process import run

            done = run(["du", "-s", "-B1", "--", *paths], timeout=3600)
    except TravelsyncError:  # no du, no answer, ssh gone: the sizes are unknown, nothing else is wrong
        return None
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if len(lines) != len(paths) or done.returncode not in (0, 1):  # 1: some file unreadable, still counted
        return None
    try:
        return [int(line.split("\t", 1)[0]) for line in lines]
    except ValueError:
        return None


def own_sizes(repository, snapshot_ids: list[str]) -> dict[str, int | None]:
    """Each snapshot's bytes on disk shared with neither neighbour (ids in the order taken)."""
    sizes = {}
    for index, snapshot_id in enumerate(snapshot_ids):
        neighbours = [snapshot_ids[i] for i in (index - 1, index + 1) if 0 <= i < len(snapshot_ids)]
        found = disk_usage(repository, [f"{layout.SNAPSHOTS}/{n}" for n in neighbours + [snapshot_id]])
        sizes[snapshot_id] = None if found is None else found[-1]
    return sizes


def kept_neighbours(order: list[str], doomed: set[str]) -> list[str]:
    """The kept snapshot just before and just after each run of doomed ones (pure)."""
    found = []
    for index, snapshot_id in enumerate(order):
        if snapshot_id in doomed:
            continue
        before = index > 0 and order[index - 1] in doomed
        after = index + 1 < len(order) and order[index + 1] in doomed
        if before or after:
            found.append(snapshot_id)
    return found


def freed_bytes(repository, order: list[str], doomed: dict[str, str], other: list[str] = ()) -> int | None:
    """Bytes on disk that deleting the snapshots `doomed` (id → its folder now, relative:
    snapshots/<id>, or partial/<id>.deleting once retired) and the folders `other` (partial
    snapshots) gives back, given the order taken of every snapshot; None when du cannot
    tell. `other` is measured after the newest snapshot too (what a partial links to)."""
    if not doomed and not other:
        return 0
    keep = kept_neighbours(order, set(doomed))
    if other and order and order[-1] not in doomed and order[-1] not in keep:
        keep.append(order[-1])
    keep_rels = [f"{layout.SNAPSHOTS}/{i}" for i in keep]
    found = disk_usage(repository, keep_rels + list(doomed.values()) + list(other))
    return None if found is None else sum(found[len(keep_rels):])
