"""Which snapshot a person means (pure): `--from` as people say it.

    latest | last-full | <id>             the names the repository has
    yesterday | 2026-11-30                the newest snapshot started that day (the configured zone)
    2026-11-30T14:00 | …T14:00+01:00      the newest snapshot started at or before that instant
    3d | 12h | 1w                        the newest snapshot at least that old

A day or an instant with no snapshot is refused, naming the nearest ones, rather than
silently taking another day's version: the user asked for a particular past.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from travelsync.errors import UsageError

_AGE = re.compile(r"^(?P<count>\d+)(?P<unit>[hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
NAMES = ("latest", "last-full")
FORMS = "latest, last-full, an id, yesterday, a date (2026-11-30), a date-time (2026-11-30T14:00) or an age (3d, 12h, 1w)"


@dataclass(frozen=True)
class Choice:
    """What `--from` asked for: a name the repository resolves (`name`), or the newest snapshot
    started in [not_before, until] (`until` inclusive), described for the output."""
    name: str | None = None
    not_before: datetime | None = None
    until: datetime | None = None
    described: str = ""
    missing: str = ""  # what the refusal says when no snapshot fits


def parse_choice(text: str, now: datetime, zone: tzinfo, is_id=lambda _t: False) -> Choice:
    """Given `--from`'s text, the current instant and the configured zone, return the Choice;
    UsageError (2) for a text of no known form."""
    text = (text or "latest").strip()
    if text in NAMES or text == "last_full" or is_id(text):
        return Choice(name="last-full" if text == "last_full" else text)
    if text == "yesterday":
        return _day((now.astimezone(zone) - timedelta(days=1)).date(), zone, "yesterday")
    age = _AGE.match(text)
    if age:
        until = now - int(age.group("count")) * _UNITS[age.group("unit")]
        return Choice(until=until, described=f"the newest at least {text} old (started by {_show(until, zone)})",
                      missing=f"no snapshot is {text} old or older (started by {_show(until, zone)})")
    try:
        return _day(date.fromisoformat(text), zone, text)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--from {text!r}: not a snapshot name, date, time or age", hint=f"give {FORMS}") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    return Choice(until=instant, described=f"the newest started by {_show(instant, zone)}",
                  missing=f"no snapshot was started by {_show(instant, zone)}")


def _day(day: date, zone: tzinfo, said: str) -> Choice:
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone) - timedelta(microseconds=1)
    named = day.isoformat() + (f" ({said})" if said != day.isoformat() else "")
    return Choice(not_before=start, until=end, described=f"the newest of {named}",
                  missing=f"no snapshot was started on {named} ({zone_name(zone)})")


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _show(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).isoformat(timespec="minutes")


def pick(choice: Choice, snapshots, zone: tzinfo):
    """The newest of `snapshots` (objects with .id and .started, any order) that `choice`
    (a time form) admits; UsageError naming the nearest snapshots when none does."""
    admitted = [s for s in snapshots if s.started <= choice.until
                and (choice.not_before is None or s.started >= choice.not_before)]
    if admitted:
        return max(admitted, key=lambda s: (s.started, s.id))
    before = max((s for s in snapshots if s.started < (choice.not_before or choice.until)),
                 key=lambda s: (s.started, s.id), default=None)
    after = min((s for s in snapshots if s.started > choice.until), key=lambda s: (s.started, s.id), default=None)
    nearest = [f"{s.id} ({_show(s.started, zone)})" for s in (before, after) if s is not None]
    raise UsageError(choice.missing,
                     hint=("the nearest: " + ", ".join(nearest)) if nearest else "the repository has no snapshot yet")
