"""Slot arithmetic: when, as real instants, the configured wall-clock times fall.

Pure apart from `local_zone()` (which reads $TZ and /etc/localtime). Every instant returned
is in UTC: aware datetimes that share a tzinfo compare by wall time and ignore `fold`, which
gets the repeated autumn hour wrong, so comparisons are always made in UTC.

DST, decided once here for every front end:
- a wall time that does not exist (the spring gap, e.g. 02:30 in Berlin on the last Sunday of
  March) is taken as the first instant after the gap (03:00 local): the day keeps its slot;
- a wall time that happens twice (the autumn night) is its first occurrence only: no second run.
"""

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path

from travelsync.config.model import WEEKDAYS, Schedule, ScheduleSpec

UTC = timezone.utc
FULL = "full"
INCREMENTAL = "incremental"


@dataclass(frozen=True)
class Slot:
    """One scheduled moment: `instant` (UTC) and the `kind` of run it asks for."""

    instant: datetime
    kind: str


def local_zone() -> tzinfo:
    """The machine's zone with its DST rules ($TZ, else /etc/localtime), UTC if neither is usable."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    try:
        with localtime.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        return UTC


def zone_for(schedule: Schedule) -> tzinfo:
    """The zone the schedule's wall times are in: its `timezone`, else the machine's."""
    if schedule.timezone:
        from zoneinfo import ZoneInfo

        return ZoneInfo(schedule.timezone)
    return local_zone()


def wall_to_instant(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    """The UTC instant of wall time `day hour:minute` in `zone` (DST rules in the module docstring)."""
    naive = datetime.combine(day, time(hour, minute))
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists; when ambiguous, fold=0 is the first occurrence
    # In the gap: fold=1 lands before the transition, fold=0 after it. Find the transition.
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = first
    if before > after:
        before, after = after, before
    new_offset = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == new_offset:
            after = middle
        else:
            before = middle
    return after


def spec_slots_on(spec: ScheduleSpec, day: date, zone: tzinfo) -> list[datetime]:
    """The instants `spec` asks for on local date `day` (none when it is not one of its days)."""
    if WEEKDAYS[day.weekday()] not in spec.days:
        return []
    return [wall_to_instant(day, spec.hour, spec.minute, zone)]


def slots_on(schedule: Schedule, day: date, zone: tzinfo) -> list[Slot]:
    """Every slot of local date `day`, sorted; a full and an incremental at the same instant is a full."""
    slots: dict[datetime, str] = {}
    for instant in spec_slots_on(schedule.incremental, day, zone):
        slots[instant] = INCREMENTAL
    for instant in spec_slots_on(schedule.full, day, zone):
        slots[instant] = FULL
    return [Slot(instant, kind) for instant, kind in sorted(slots.items())]


def last_slot(schedule: Schedule, now: datetime, zone: tzinfo) -> Slot | None:
    """The most recent slot at or before `now` (None only for a schedule with no days at all)."""
    now = now.astimezone(UTC)
    today = now.astimezone(zone).date()
    for back in range(0, 9):
        candidates = [s for s in slots_on(schedule, today - timedelta(days=back), zone) if s.instant <= now]
        if candidates:
            return candidates[-1]
    return None


def next_slot(schedule: Schedule, now: datetime, zone: tzinfo, kind: str | None = None) -> Slot | None:
    """The first slot strictly after `now`, optionally only of `kind`."""
    now = now.astimezone(UTC)
    today = now.astimezone(zone).date()
    for ahead in range(-1, 9):
        for slot in slots_on(schedule, today + timedelta(days=ahead), zone):
            if slot.instant > now and (kind is None or slot.kind == kind):
                return slot
    return None


def full_interval(schedule: Schedule) -> timedelta:
    """The longest gap between two consecutive full days (7 days for a weekly full)."""
    days = sorted(WEEKDAYS.index(d) for d in schedule.full.days)
    if not days:
        return timedelta(days=7)
    gaps = [(days[(i + 1) % len(days)] - day) % 7 or 7 for i, day in enumerate(days)]
    return timedelta(days=max(gaps))


def next_runs(schedule: Schedule, now: datetime, zone: tzinfo | None = None) -> dict[str, datetime | None]:
    """Next full and next incremental, in the schedule's zone (for `status` and `schedule show`).

    An incremental slot that coincides with a full slot is a full, so `incremental` is the next
    slot that really makes an incremental. Compare the values after `.astimezone(timezone.utc)`:
    PEP 495 makes a time in the repeated autumn hour unequal to any instant in another zone.
    """
    zone = zone_for(schedule) if zone is None else zone
    result = {}
    for kind in (FULL, INCREMENTAL):
        slot = next_slot(schedule, now, zone, kind)
        result[kind] = slot.instant.astimezone(zone) if slot else None
    return result
