"""Which snapshots `prune` deletes (pure), and why each of the others is kept.

Two policies, chosen by the keys given (design §9):

- `retention: {full: N}` alone, the original rule: the last N fulls and every snapshot
  taken since the oldest of them.
- with any calendar key (`keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`,
  `keep_within`), as restic `forget` and borg `prune` do it: the newest snapshot of each of
  the last D days that have one, of the last W ISO weeks, M months, Y years; every snapshot
  started within `keep_within` of the newest one; the last N fulls themselves. A kept
  incremental keeps the full its chain starts from (prepare restores a full, finalize the
  changes since it), so no incremental outlives its full.

Either way: never the latest, the last full, or a snapshot a trip depends on, and nothing
at all while there is no full (every incremental then holds the only copy). Snapshots are
taken in the order given (the order they were taken, Repository.snapshots()), never sorted
by a clock reading; days, weeks, months and years are those of `started` in the schedule's
zone.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

CALENDAR = (("daily", "keep_daily"), ("weekly", "keep_weekly"), ("monthly", "keep_monthly"),
            ("yearly", "keep_yearly"))
_WITHIN = re.compile(r"(\d+)([ymwdh])")
WITHIN_FORM = r"(\d+[ymwdh])+"  # 10d, 2w, 1y6m, 36h (y years, m months, w weeks, d days, h hours)


@dataclass(frozen=True)
class RetentionPlan:
    keep: tuple[str, ...]
    delete: tuple[str, ...]
    reasons: dict = field(default_factory=dict)  # id -> why it is kept ("monthly 2026-10, latest")


def plan_retention(snapshots, retention, protected=frozenset(), latest: str | None = None,
                   zone: tzinfo = timezone.utc) -> RetentionPlan:
    """Given snapshots in the order taken (objects with .id, .kind, .started and optionally
    .parent) and the policy (config.model.Retention, or an int: keep that many fulls, the
    original rule), return the plan."""
    ordered = list(snapshots)
    keep_full = retention if isinstance(retention, int) else retention.full
    fulls = [s for s in ordered if s.kind == "full"]
    if not fulls or keep_full < 1:
        return RetentionPlan(tuple(s.id for s in ordered), (), {s.id: "no full to anchor retention" for s in ordered})
    if isinstance(retention, int) or not is_calendar(retention):
        reasons = _by_fulls(ordered, fulls, keep_full)
    else:
        reasons = _by_calendar(ordered, fulls, retention, zone)
    latest = latest or ordered[-1].id
    present = {s.id for s in ordered}
    specials = [(latest, "latest"), (fulls[-1].id, "last full")]
    specials += [(i, "protected by the trip state") for i in sorted(protected) if i in present]
    for snapshot_id, why in specials:
        reasons.setdefault(snapshot_id, []).append(why)
    if isinstance(retention, int) or not is_calendar(retention):
        explained = {i: why[0] for i, why in reasons.items()}  # the original rule's single reason
    else:
        _keep_chains(ordered, reasons)
        explained = {i: ", ".join(why) for i, why in reasons.items()}
    keep = tuple(s.id for s in ordered if s.id in explained)
    delete = tuple(s.id for s in ordered if s.id not in explained)
    return RetentionPlan(keep, delete, {i: explained[i] for i in keep})


def is_calendar(retention) -> bool:
    return bool(retention.keep_within) or any(getattr(retention, key) for _, key in CALENDAR)


def _by_fulls(ordered, fulls, keep_full: int) -> dict[str, list[str]]:
    kept_fulls = {s.id for s in fulls[-keep_full:]}
    since = next(i for i, s in enumerate(ordered) if s.id == fulls[-keep_full:][0].id)
    reasons = {}
    for index, snapshot in enumerate(ordered):
        if snapshot.id in kept_fulls:
            reasons[snapshot.id] = [f"one of the last {keep_full} fulls"]
        elif index >= since:
            reasons[snapshot.id] = ["newer than the oldest kept full"]
    return reasons


def _by_calendar(ordered, fulls, retention, zone: tzinfo) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = {}
    for snapshot in fulls[-retention.full:]:
        reasons.setdefault(snapshot.id, []).append(f"one of the last {retention.full} fulls")
    for rule, key in CALENDAR:
        count, seen = getattr(retention, key), set()
        for snapshot in reversed(ordered):  # newest first: each bucket's newest is met first
            if len(seen) >= count:
                break
            bucket = bucket_of(rule, snapshot.started, zone)
            if bucket not in seen:
                seen.add(bucket)
                reasons.setdefault(snapshot.id, []).append(f"{rule} {bucket}")
    if retention.keep_within:
        since = subtract(ordered[-1].started, retention.keep_within)
        for snapshot in ordered:
            if snapshot.started >= since:
                reasons.setdefault(snapshot.id, []).append(f"within {retention.keep_within} of the newest")
    return reasons


def _keep_chains(ordered, reasons: dict[str, list[str]]) -> None:
    """Each kept incremental keeps the full its chain starts from."""
    by_id = {s.id: s for s in ordered}
    position = {s.id: index for index, s in enumerate(ordered)}
    full_before, last = [], None  # the newest full taken before each position
    for snapshot in ordered:
        full_before.append(last)
        last = snapshot if snapshot.kind == "full" else last
    for snapshot in ordered:
        if snapshot.kind != "full" and snapshot.id in reasons:
            full = chain_full(snapshot, by_id, lambda s: full_before[position[s.id]])
            if full is not None and full.id not in reasons:
                reasons[full.id] = [f"full of kept {snapshot.id}"]


def chain_full(snapshot, by_id: dict, full_before):
    """The full an incremental's chain starts from: its parents followed while they are in
    `by_id`, else `full_before(the last one reached)` (the newest full taken before it)."""
    current, visited = snapshot, set()
    while getattr(current, "parent", None) in by_id and current.id not in visited:
        visited.add(current.id)
        current = by_id[current.parent]
        if current.kind == "full":
            return current
    return full_before(current)


def bucket_of(rule: str, started: datetime, zone: tzinfo) -> str:
    """The day (2026-11-30), ISO week (2026-W48), month (2026-11) or year (2026) of `started`
    in `zone`: what `prune --dry-run` names as the reason."""
    local = started.astimezone(zone)
    if rule == "daily":
        return local.date().isoformat()
    if rule == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if rule == "monthly":
        return f"{local.year}-{local.month:02d}"
    return str(local.year)


def subtract(instant: datetime, duration: str) -> datetime:
    """`instant` minus a duration such as 10d, 2w, 1y6m, 36h: months and years on the calendar
    (31 March minus 1m is 28/29 February), the rest exactly. ValueError for another form."""
    if not re.fullmatch(WITHIN_FORM, duration or ""):
        raise ValueError(f"{duration!r}: not a duration such as 10d, 2w, 6m, 1y or 36h")
    months, exact = 0, timedelta()
    for count, unit in _WITHIN.findall(duration):
        number = int(count)
        if unit == "y":
            months += 12 * number
        elif unit == "m":
            months += number
        else:
            exact += number * {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}[unit]
    if months:
        total = instant.year * 12 + instant.month - 1 - months
        year, month = divmod(total, 12)
        month += 1
        import calendar

        day = min(instant.day, calendar.monthrange(year, month)[1])
        instant = instant.replace(year=year, month=month, day=day)
    return instant - exact
