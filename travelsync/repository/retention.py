"""Which snapshots `prune` deletes (pure): keep the last N fulls and every snapshot since the
oldest kept full; never the latest, the last full, or a snapshot a trip depends on."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetentionPlan:
    keep: tuple[str, ...]
    delete: tuple[str, ...]
    reasons: dict = field(default_factory=dict)  # id -> why it is kept


def plan_retention(snapshots, keep_full: int, protected=frozenset(), latest: str | None = None) -> RetentionPlan:
    """Given snapshots oldest first (objects with .id, .kind), return the plan. Oldest first
    is the order they were taken (Repository.snapshots()), never their clock readings: a
    snapshot taken with the clock behind is still the newest.

    With no full at all, nothing is deleted (every incremental still holds its only copy).
    """
    ordered = list(snapshots)
    fulls = [s for s in ordered if s.kind == "full"]
    reasons: dict[str, str] = {}
    if not fulls or keep_full < 1:
        return RetentionPlan(tuple(s.id for s in ordered), (), {s.id: "no full to anchor retention" for s in ordered})
    kept_fulls = fulls[-keep_full:]
    oldest_kept = kept_fulls[0]
    latest = latest or ordered[-1].id
    for snapshot in ordered:
        if snapshot in kept_fulls:
            reasons[snapshot.id] = f"one of the last {keep_full} fulls"
        elif ordered.index(snapshot) >= ordered.index(oldest_kept):
            reasons[snapshot.id] = "newer than the oldest kept full"
    for special, why in ((latest, "latest"), (fulls[-1].id, "last full")):
        reasons.setdefault(special, why)
    for snapshot_id in protected:
        if any(s.id == snapshot_id for s in ordered):
            reasons.setdefault(snapshot_id, "protected by the trip state")
    keep = tuple(s.id for s in ordered if s.id in reasons)
    delete = tuple(s.id for s in ordered if s.id not in reasons)
    return RetentionPlan(keep, delete, reasons)
