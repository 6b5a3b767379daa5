"""Which snapshots an off-site copy lacks, in which order, each linked to which (pure).

The copy's history only grows forward: every committed snapshot of the home repository
newer than the copy's newest is copied, oldest first. An older one the copy lacks (its own
retention let it go, or the copy was started later) is never copied back in: the copy's
`latest` would move backwards, and its retention would delete it again.

Each copied snapshot mirrors the hard links it has at home: a full is copied alone (no
inode shared with older snapshots, as at home: design §3); an incremental links to its
parent in the copy, or, when the copy lacks the parent, to the copy's newest snapshot taken
before it. So the copy takes about the space the home repository takes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from travelsync.repository.layout import order_key


@dataclass(frozen=True)
class Step:
    snapshot_id: str
    kind: str
    link_dest: str | None  # a snapshot id in the copy, or None (a full, or nothing older there)


def plan_sync(home_snapshots, copy_ids) -> list[Step]:
    """Given the home repository's committed snapshots in the order taken (objects with .id,
    .kind, .parent) and the ids the copy holds, return the steps, oldest first."""
    present = sorted(copy_ids, key=order_key)
    newest = order_key(present[-1]) if present else None
    steps = []
    for snapshot in home_snapshots:
        if snapshot.id in present or (newest is not None and order_key(snapshot.id) <= newest):
            continue
        steps.append(Step(snapshot.id, snapshot.kind, _link_dest(snapshot, present)))
        present.append(snapshot.id)
    return steps


def _link_dest(snapshot, present: list[str]) -> str | None:
    if snapshot.kind == "full":
        return None
    if snapshot.parent in present:
        return snapshot.parent
    older = [i for i in present if order_key(i) < order_key(snapshot.id)]
    return older[-1] if older else None


def not_copied(home_snapshots, copy_ids) -> list[str]:
    """Home snapshots older than the copy's newest that the copy lacks: never copied (see above)."""
    present = set(copy_ids)
    newest = max((order_key(i) for i in present), default=None)
    return [s.id for s in home_snapshots if s.id not in present and newest is not None
            and order_key(s.id) < newest]


def age_of(newest_started: datetime | None, now: datetime) -> timedelta | None:
    """How old the copy's newest snapshot is (None: the copy holds none)."""
    return None if newest_started is None else max(now - newest_started, timedelta(0))


def too_old(newest_started: datetime | None, now: datetime, warn_after: str) -> bool:
    """The copy's newest snapshot started more than `warn_after` (10d, 36h…) ago, or there is none."""
    from travelsync.repository.retention import subtract

    return newest_started is None or newest_started < subtract(now, warn_after)


def human_age(age: timedelta | None) -> str:
    """`3 h`, `2 d 4 h`, `never synced`."""
    if age is None:
        return "never synced"
    hours = int(age.total_seconds() // 3600)
    if hours < 1:
        return f"{int(age.total_seconds() // 60)} min"
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def is_due(copy, recorded: dict | None, home_latest: str | None, now: datetime, zone) -> bool:
    """Whether `offsite sync --if-due` syncs this copy now (cron and systemd ask hourly), from
    the record of its last sync (offsite/status.py) alone: no copy is contacted to decide.
    A copy without `schedule:` follows the backups: due when the repository's newest snapshot
    is not the one it last got. A copy with one: due when a slot of it came since its last sync.
    Never synced: due (once there is a snapshot)."""
    if home_latest is None:
        return False
    synced_at = _instant((recorded or {}).get("synced_at"))
    if synced_at is None:
        return True
    if copy.schedule is None:
        return recorded.get("latest") != home_latest
    from travelsync.config.model import Schedule
    from travelsync.schedule.slots import last_slot

    slot = last_slot(Schedule(copy.schedule, copy.schedule), now, zone)
    return slot is not None and slot.instant > synced_at


def _instant(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
