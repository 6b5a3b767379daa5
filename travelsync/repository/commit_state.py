"""What a failed commit leaves, said truly (pure): the same words for a local repository and
one over ssh, so the user learns whether the snapshot is committed and where `latest` is."""

from travelsync.errors import TravelsyncError

DISK_HINT = "the next backup or `travelsync snapshots` sees it; check the repository's disk"


def nothing_committed(reason: str, partial: str) -> TravelsyncError:
    """Before the rename: the snapshot is not listed; the next run resumes the partial."""
    return TravelsyncError(f"nothing committed: {reason}; the partial snapshot {partial} is kept for the next run")


def unfinished(snapshot_id: str, reason: str, target: str, latest_now: str | None) -> TravelsyncError:
    """After the rename: the snapshot is complete and listed, but `latest` may not name it."""
    if latest_now and latest_now.rstrip("/").rsplit("/", 1)[-1] == target.rstrip("/").rsplit("/", 1)[-1]:
        where = "`latest` points at it"
    elif latest_now:
        where = f"`latest` still points at {latest_now.rstrip('/').rsplit('/', 1)[-1]}"
    else:
        where = "there is no `latest` link"
    return TravelsyncError(f"snapshot {snapshot_id} is committed (listed complete) but the commit did not finish: "
                           f"{reason}; {where}", hint=DISK_HINT)
