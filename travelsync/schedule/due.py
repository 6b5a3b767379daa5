"""The one rule that decides whether a backup is due. Pure: no clock, no files, no scheduler.

cron (`@hourly backup --if-due`), the systemd timer and the `schedule run` daemon all ask this
function, and the record of what ran is the repository itself (complete snapshots and recorded
no-change runs), never a scheduler's private store. See docs/scheduling.md.

The rule:
1. Take the most recent slot at or before `now`, computed in the schedule's zone (full slots on
   the full days, incremental slots on the incremental days; a full and an incremental at the
   same instant is a full). DST is handled in `slots`.
2. If a run started at or after that slot, nothing is due: one run covers every missed slot
   before it (a machine off for ten days makes one run, not ten).
3. Otherwise a run is due: a full when the slot is a full slot, when no full exists, or when
   the last full is older than the full interval (a missed Sunday: the next run is a full);
   else an incremental.

Runs that started more than FUTURE_TOLERANCE after `now` are evidence of a clock that moved
backwards (an RTC reset, a dual-boot clock in local time): they are ignored, so they neither
stall the schedule until the clock catches up nor cause more than one extra run (the new run
is recorded at the corrected time and covers the slot). A timezone change while travelling
just moves the slots: at most one extra run going west, never a skipped day going east.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Iterable

from travelsync.config.model import Schedule
from travelsync.schedule.slots import FULL, INCREMENTAL, UTC, Slot, full_interval, last_slot, zone_for

FUTURE_TOLERANCE = timedelta(hours=1)


@dataclass(frozen=True)
class Decision:
    """What is due (`kind`: full | incremental | None), for which slot, and why (one line)."""

    kind: str | None
    slot: Slot | None
    reason: str
    last_run: datetime | None = None
    last_full: datetime | None = None
    ignored_future_runs: int = 0


def decide(schedule: Schedule, runs: Iterable[tuple[str, datetime]], now: datetime,
           zone: tzinfo | None = None) -> Decision:
    """Given the schedule, the repository's successful runs (kind, started) and now, say what is due."""
    zone = zone_for(schedule) if zone is None else zone
    now_utc = now.astimezone(UTC)
    horizon = now_utc + FUTURE_TOLERANCE
    usable: list[tuple[str, datetime]] = []
    ignored = 0
    for kind, started in runs:
        started = started.astimezone(UTC)
        if started > horizon:
            ignored += 1
        else:
            usable.append((kind, started))
    last_run = max((started for _, started in usable), default=None)
    last_full = max((started for kind, started in usable if kind == FULL), default=None)
    common = dict(last_run=last_run, last_full=last_full, ignored_future_runs=ignored)

    slot = last_slot(schedule, now_utc, zone)
    if slot is None:
        return Decision(None, None, "the schedule has no days", **common)
    slot_text = f"{slot.kind} slot {slot.instant.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
    if last_run is not None and last_run >= slot.instant:
        return Decision(None, slot, f"the {slot_text} is covered by the run at {_utc(last_run)}", **common)
    if slot.kind == FULL:
        return Decision(FULL, slot, f"the {slot_text} has not run yet", **common)
    if last_full is None:
        return Decision(FULL, slot, "no full snapshot exists yet", **common)
    interval = full_interval(schedule)
    if now_utc - last_full > interval:
        return Decision(FULL, slot, f"the last full ({_utc(last_full)}) is older than {interval.days} days", **common)
    return Decision(INCREMENTAL, slot, f"the {slot_text} has not run yet", **common)


def is_due(schedule: Schedule, runs: Iterable[tuple[str, datetime]], now: datetime,
           zone: tzinfo | None = None) -> str | None:
    """"full", "incremental" or None: what a scheduled invocation should do now."""
    return decide(schedule, runs, now, zone).kind


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
