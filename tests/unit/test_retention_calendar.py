"""Calendar retention (pure), as restic `forget` and borg `prune` do it: examples, the reasons
`prune --dry-run` prints, and a property over 400 replayed days (a prune every day) that
ends with exactly the set a brute-force reading of the policy keeps."""

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from travelsync.config.model import Retention
from travelsync.repository.retention import plan_retention, subtract

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 1, 4, 1, 30, tzinfo=timezone.utc)  # a Sunday
EXAMPLES = int(os.environ.get("TRAVELSYNC_RETENTION_EXAMPLES", "20"))


@dataclass(frozen=True)
class Snap:
    id: str
    kind: str
    started: datetime
    parent: str | None = None


def nightly(days: int, start=START) -> list[Snap]:
    """A full every Sunday, an incremental every other night, each linked to the one before."""
    snaps, parent = [], None
    for day in range(days):
        started = start + timedelta(days=day)
        kind = "full" if started.weekday() == 6 else "incremental"
        snaps.append(Snap(f"s{day:04d}", kind, started, parent if kind == "incremental" else None))
        parent = snaps[-1].id
    return snaps


def test_the_full_rule_alone_is_the_original_rule():
    """`retention: {full: N}` keeps working exactly as before: same plan, same reasons."""
    snaps = nightly(60)
    assert plan_retention(snaps, Retention(full=3)) == plan_retention(snaps, 3)
    assert plan_retention(snaps, Retention(full=3)).delete == tuple(s.id for s in snaps[:42])


def test_daily_weekly_monthly_keep_each_buckets_newest_and_say_so():
    snaps = nightly(120)  # 2026-01-04 .. 2026-05-03
    plan = plan_retention(snaps, Retention(full=1, keep_daily=3, keep_weekly=2, keep_monthly=3), zone=timezone.utc)
    by_day = {s.started.date().isoformat(): s.id for s in snaps}
    assert plan.reasons[by_day["2026-05-03"]] == "one of the last 1 fulls, daily 2026-05-03, weekly 2026-W18, " \
                                                 "monthly 2026-05, latest, last full"
    assert plan.reasons[by_day["2026-05-01"]] == "daily 2026-05-01"
    assert plan.reasons[by_day["2026-04-26"]] == "weekly 2026-W17"  # the Sunday ends ISO week 17
    assert plan.reasons[by_day["2026-04-30"]] == "monthly 2026-04"
    assert plan.reasons[by_day["2026-03-31"]] == "monthly 2026-03"
    assert plan.reasons[by_day["2026-04-26"]].startswith("weekly")
    # the kept incrementals keep the fulls their chains start from
    assert plan.reasons[by_day["2026-03-29"]] == f"full of kept {by_day['2026-03-31']}"
    assert set(plan.keep) == {by_day[d] for d in ("2026-05-03", "2026-05-02", "2026-05-01", "2026-04-26",
                                                  "2026-04-30", "2026-03-31", "2026-03-29")}


def test_days_are_the_zones_days():
    """00:30 in Paris is the previous day in UTC: the day's newest is chosen by Paris's clock."""
    late = Snap("a", "full", datetime(2026, 3, 9, 22, 0, tzinfo=timezone.utc))  # 23:00 in Paris, 9 March
    later = Snap("b", "incremental", datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc), "a")  # 00:30, 10 March
    plan = plan_retention([late, later], Retention(full=1, keep_daily=2), zone=PARIS)
    assert plan.reasons == {"a": "one of the last 1 fulls, daily 2026-03-09, last full",
                            "b": "daily 2026-03-10, latest"}


def test_within_counts_back_from_the_newest_snapshot_not_from_now():
    snaps = nightly(30)
    plan = plan_retention(snaps, Retention(full=1, keep_within="10d"))
    assert [i for i in plan.keep if "within" in plan.reasons[i]] == [s.id for s in snaps[-11:]]


def test_a_kept_incremental_keeps_its_chains_full_found_by_its_parents():
    """An incremental linked (parent) to an older full than the newest before it — it was
    taken while `latest` named an older chain — keeps that full."""
    a = Snap("a", "full", START)
    b = Snap("b", "incremental", START + timedelta(days=1), "a")
    c = Snap("c", "full", START + timedelta(days=2))
    d = Snap("d", "incremental", START + timedelta(days=3), "b")  # linked to b, whose full is a
    e = Snap("e", "full", START + timedelta(days=9))
    plan = plan_retention([a, b, c, d, e], Retention(full=1, keep_daily=2))
    assert plan.keep == ("a", "d", "e") and plan.reasons["a"] == "full of kept d"


def test_protected_latest_and_last_full_are_never_deleted():
    snaps = nightly(40)
    plan = plan_retention(snaps, Retention(full=1, keep_daily=1), protected={"s0003"}, latest="s0010")
    assert {"s0003", "s0010", "s0035", "s0039"} <= set(plan.keep)
    assert plan.reasons["s0003"] == "protected by the trip state"
    assert plan.reasons["s0000"] == "full of kept s0003"  # a protected incremental keeps its full too


def test_no_full_means_nothing_deleted():
    snaps = [Snap(f"i{n}", "incremental", START + timedelta(days=n)) for n in range(20)]
    assert plan_retention(snaps, Retention(full=1, keep_daily=1)).delete == ()


@pytest.mark.parametrize("instant, duration, expected", [
    ("2026-03-31T10:00+00:00", "1m", "2026-02-28T10:00+00:00"),
    ("2028-03-31T10:00+00:00", "1m", "2028-02-29T10:00+00:00"),
    ("2026-03-31T10:00+00:00", "1y2m", "2025-01-31T10:00+00:00"),
    ("2026-01-15T10:00+00:00", "2w3d12h", "2025-12-28T22:00+00:00"),
])
def test_subtract(instant, duration, expected):
    assert subtract(datetime.fromisoformat(instant), duration) == datetime.fromisoformat(expected)


def test_subtract_refuses_other_forms():
    with pytest.raises(ValueError):
        subtract(START, "10 days")


# ---------------------------------------------------------------- 400 replayed days
def expected_keep(history, policy, protected, zone) -> set[str]:
    """Brute force, straight from the words of the policy, over every snapshot ever taken."""
    index = {s.id: n for n, s in enumerate(history)}
    fulls = [s for s in history if s.kind == "full"]
    if not fulls:
        return {s.id for s in history}
    calendar = any((policy.keep_daily, policy.keep_weekly, policy.keep_monthly, policy.keep_yearly,
                    policy.keep_within))
    if not calendar:
        oldest = fulls[-policy.full]  if len(fulls) >= policy.full else fulls[0]
        keep = {s.id for s in history if index[s.id] >= index[oldest.id]}
    else:
        keep = {s.id for s in fulls[-policy.full:]}
        for form, count in (("%Y-%m-%d", policy.keep_daily), ("%G-W%V", policy.keep_weekly),
                            ("%Y-%m", policy.keep_monthly), ("%Y", policy.keep_yearly)):
            groups = defaultdict(list)
            for s in history:
                groups[s.started.astimezone(zone).strftime(form)].append(s)
            for bucket in sorted(groups, reverse=True)[:count]:
                keep.add(max(groups[bucket], key=lambda s: index[s.id]).id)
        if policy.keep_within:
            days = int(policy.keep_within[:-1])
            keep |= {s.id for s in history if s.started >= history[-1].started - timedelta(days=days)}
    keep |= {history[-1].id, fulls[-1].id} | set(protected)
    if calendar:
        for s in [s for s in history if s.id in keep and s.kind == "incremental"]:
            full = max((f for f in fulls if index[f.id] < index[s.id]), key=lambda f: index[f.id], default=None)
            if full is not None:
                keep.add(full.id)
    return keep


policies = st.one_of(
    st.builds(Retention, full=st.integers(1, 5)),
    st.builds(Retention, full=st.integers(1, 4), keep_daily=st.integers(0, 10), keep_weekly=st.integers(0, 6),
              keep_monthly=st.integers(0, 14), keep_yearly=st.integers(0, 2),
              keep_within=st.one_of(st.none(), st.integers(1, 20).map(lambda d: f"{d}d"))),
)


@settings(max_examples=EXAMPLES)
@given(policy=policies, seed=st.randoms(use_true_random=False),
       trip=st.one_of(st.none(), st.tuples(st.integers(0, 399), st.integers(1, 30), st.booleans())))
def test_400_replayed_days_with_a_prune_each_day_keep_exactly_the_expected_set(policy, seed, trip):
    """Backups on most nights (full on Sundays or when none exists, sometimes a second one, a
    missed night now and then), a prune after each day, a trip that protects its snapshots
    for a while; each day the latest, the last full and the protected survive and no kept
    incremental outlives its full; after 400 days exactly the brute-force set is left."""
    history, alive, protected, parent = [], [], set(), None
    for day in range(400):
        for run in range(seed.choice((0, 1, 1, 1, 1, 1, 1, 2))):
            started = START + timedelta(days=day, hours=run * 7, minutes=seed.randrange(60))
            kind = "full" if (started.weekday() == 6 and run == 0) or not any(s.kind == "full" for s in alive) \
                or seed.random() < 0.03 else "incremental"
            snap = Snap(f"s{len(history):05d}", kind, started, parent if kind == "incremental" else None)
            history.append(snap)
            alive.append(snap)
            parent = snap.id
        if trip and day == trip[0] and alive:
            fulls = [s.id for s in alive if s.kind == "full"]
            protected = {alive[-1].id} | set(fulls[-1:])
        if trip and day == trip[0] + trip[1] and not trip[2]:
            protected = set()  # the trip is over: `return` releases them
        if not alive:
            continue
        plan = plan_retention(alive, policy, protected, zone=PARIS)
        kept = set(plan.keep)
        fulls = [s.id for s in alive if s.kind == "full"]
        assert alive[-1].id in kept and fulls[-1] in kept and protected <= kept
        alive = [s for s in alive if s.id in kept]
        if any((policy.keep_daily, policy.keep_weekly, policy.keep_monthly, policy.keep_yearly,
                policy.keep_within)):
            for s in alive:
                if s.kind == "incremental":
                    chain = [f for f in history[:history.index(s)] if f.kind == "full"]
                    assert chain[-1] in alive, f"{s.id} kept without its full {chain[-1].id}"
    assert {s.id for s in alive} == expected_keep(history, policy, protected, PARIS)
