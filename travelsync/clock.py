"""The one reading of the current time.

Every part of travelsync asks `now()`, so tests and drills can replay a week in seconds by
setting TRAVELSYNC_NOW (ISO 8601 with an offset, e.g. 2026-11-22T02:30:00+01:00).
"""

import os
from datetime import datetime, timezone

from travelsync.errors import UsageError

ENV_VAR = "TRAVELSYNC_NOW"


def parse_instant(text: str) -> datetime:
    """Given an ISO 8601 timestamp with an offset, return an aware datetime; raise UsageError otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{ENV_VAR}={text!r} is not an ISO 8601 timestamp (e.g. 2026-11-22T02:30:00+01:00)")
    if value.tzinfo is None:
        raise UsageError(f"{ENV_VAR}={text!r} needs a UTC offset (e.g. +01:00 or Z)")
    return value


def now(environ=None) -> datetime:
    """The current instant, timezone-aware (UTC unless TRAVELSYNC_NOW says otherwise)."""
    environ = os.environ if environ is None else environ
    fixed = environ.get(ENV_VAR)
    if fixed:
        return parse_instant(fixed)
    return datetime.now(timezone.utc)


def utc_stamp(instant: datetime) -> str:
    """Compact UTC stamp used in snapshot ids and file names: 20261122T023000Z."""
    return instant.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
