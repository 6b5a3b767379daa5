"""Retention planning (pure): last N fulls and everything since; latest, last full and
trip-protected snapshots are never deleted."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from travelsync.repository.retention import plan_retention

START = datetime(2026, 11, 1, 2, 30, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Snap:
    id: str
    kind: str
    started: datetime


def week(kinds: str) -> list[Snap]:
    """'FIIF' → full, incr, incr, full on consecutive days."""
    return [Snap(f"s{i}", "full" if k == "F" else "incremental", START + timedelta(days=i)) for i, k in enumerate(kinds)]


def test_keeps_last_n_fulls_and_everything_newer():
    snaps = week("FIIFIIFII")
    plan = plan_retention(snaps, 2)
    assert plan.delete == ("s0", "s1", "s2")
    assert plan.keep == ("s3", "s4", "s5", "s6", "s7", "s8")


def test_never_deletes_latest_last_full_or_protected():
    snaps = week("FIFI")
    plan = plan_retention(snaps, 1, protected={"s1"}, latest="s3")
    assert plan.delete == ("s0",)
    assert plan.reasons["s1"] == "protected by the trip state"
    odd = plan_retention(week("FIFI"), 1, latest="s1")  # latest pointing at an older one
    assert "s1" in odd.keep


def test_no_full_means_nothing_deleted():
    assert plan_retention(week("III"), 1).delete == ()


@given(st.lists(st.sampled_from("FI"), min_size=1, max_size=30), st.integers(1, 5), st.sets(st.integers(0, 29)))
def test_invariants(kinds, keep, protected_indices):
    snaps = week("".join(kinds))
    protected = {f"s{i}" for i in protected_indices if i < len(snaps)}
    plan = plan_retention(snaps, keep, protected)
    assert set(plan.keep) | set(plan.delete) == {s.id for s in snaps}
    assert not set(plan.keep) & set(plan.delete)
    assert snaps[-1].id in plan.keep and not protected & set(plan.delete)
    fulls = [s for s in snaps if s.kind == "full"]
    if fulls:
        assert fulls[-1].id in plan.keep
        kept_fulls = [s for s in fulls if s.id in plan.keep]
        assert len(kept_fulls) >= min(keep, len(fulls))
        oldest = fulls[-min(keep, len(fulls))]
        assert all(s.id in plan.keep for s in snaps if s.started >= oldest.started)


def test_orders_by_the_recorded_order_never_by_the_clock():
    """Finding 7: a full taken with a clock behind (started days before the one it follows) is
    the newest full all the same; the snapshots before it go, not it. Sorting by `started`
    made it the oldest and deleted it."""
    snaps = [Snap("20261124T023000Z-full", "full", START + timedelta(days=23)),
             Snap("20261125T023000Z-incr", "incremental", START + timedelta(days=24)),
             Snap("20261125T023001Z-full", "full", START + timedelta(days=19)),  # clock 6 days behind
             Snap("20261125T023002Z-incr", "incremental", START + timedelta(days=20))]
    plan = plan_retention(snaps, 1)
    assert plan.delete == ("20261124T023000Z-full", "20261125T023000Z-incr")
    assert plan.keep == ("20261125T023001Z-full", "20261125T023002Z-incr")
    assert plan.reasons["20261125T023002Z-incr"] == "newer than the oldest kept full"
