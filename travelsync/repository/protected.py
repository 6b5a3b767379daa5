"""Snapshots a trip depends on: `protected_snapshots` in $XDG_STATE_HOME/travelsync/trip.json."""

from travelsync import paths


def protected_snapshot_ids(environ=None) -> frozenset[str]:
    """The ids listed by the trip state; empty when there is no trip state.

    A damaged or edited trip.json raises DamagedStateFile (exit 2): dropping its protection
    would let retention delete the snapshots the trip restores from."""
    from travelsync.statefiles import trip

    document = trip.load(paths.state_dir(environ) / "trip.json")
    return frozenset(document["protected_snapshots"])
