"""Snapshots a trip depends on: `protected_snapshots` in $XDG_STATE_HOME/travelsync/trip.json."""

from travelsync import paths
from travelsync.atomic import read_json


def protected_snapshot_ids(environ=None) -> frozenset[str]:
    """The ids listed by the trip state; empty when there is no trip state (or it is unreadable)."""
    try:
        document = read_json(paths.state_dir(environ) / "trip.json", default={})
    except (OSError, ValueError):
        return frozenset()
    ids = document.get("protected_snapshots", []) if isinstance(document, dict) else []
    return frozenset(str(i) for i in ids if isinstance(i, str))
