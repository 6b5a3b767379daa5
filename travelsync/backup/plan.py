"""Which kind of snapshot `--auto` takes (pure; design §3)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from travelsync.config.model import WEEKDAYS


def full_interval(full_days) -> timedelta:
    """The longest gap between two configured full days (7 days for a weekly full)."""
    indices = sorted({WEEKDAYS.index(day) for day in full_days})
    if not indices:
        return timedelta(days=7)
    gaps = [(indices[(i + 1) % len(indices)] - indices[i]) % 7 or 7 for i in range(len(indices))]
    return timedelta(days=max(gaps))


def choose_kind(requested: str, schedule, snapshots, now: datetime) -> str:
    """`full`/`incremental` as requested; for `auto`: a full on a configured full day (unless
    one was already taken that day), when no full exists, or when the last full is older than
    the full interval (a missed Sunday); else an incremental."""
    if requested in ("full", "incremental"):
        return requested
    fulls = [s for s in snapshots if s.kind == "full"]
    if not fulls:
        return "full"
    zone = ZoneInfo(schedule.timezone) if schedule.timezone else None
    local_now = now.astimezone(zone)
    last_full = fulls[-1]  # snapshots come in the order taken
    if now - last_full.started >= full_interval(schedule.full.days):
        return "full"
    today = WEEKDAYS[local_now.weekday()]
    if today in schedule.full.days and last_full.started.astimezone(zone).date() != local_now.date():
        return "full"
    return "incremental"
