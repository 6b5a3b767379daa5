"""`--from` as people say it (repository/choose.py): pure, over made-up snapshot lists."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from travelsync.errors import UsageError
from travelsync.repository.choose import parse_choice, pick

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Snap:
    id: str
    started: datetime


def snaps(*stamps):
    return [Snap(f"s{i}", datetime.fromisoformat(t)) for i, t in enumerate(stamps)]


NIGHTS = snaps("2026-11-29T01:30:00+00:00", "2026-11-30T01:30:00+00:00", "2026-11-30T23:30:00+00:00",
               "2026-12-01T01:30:00+00:00", "2026-12-02T01:30:00+00:00")


def chosen(text, snapshots=NIGHTS, zone=BERLIN, now=NOW):
    return pick(parse_choice(text, now, zone), snapshots, zone).id


def test_names_and_ids_are_left_to_the_repository():
    assert parse_choice("latest", NOW, BERLIN).name == "latest"
    assert parse_choice("last_full", NOW, BERLIN).name == "last-full"
    assert parse_choice("20261122T023000Z-full", NOW, BERLIN, is_id=lambda t: t.endswith("-full")).name \
        == "20261122T023000Z-full"


def test_a_date_is_that_day_in_the_configured_zone():
    # 2026-11-30T23:30Z is already 1 December in Berlin: the newest of 30 November is s1
    assert chosen("2026-11-30") == "s1"
    assert chosen("2026-11-30", zone=timezone.utc) == "s2"
    assert chosen("2026-12-01") == "s3"
    assert chosen("yesterday") == "s3"  # now is 2 December in Berlin


def test_a_time_or_an_age_is_the_newest_started_by_then():
    assert chosen("2026-12-01T02:00") == "s2"  # Berlin 02:00 = 01:00Z: before s3
    assert chosen("2026-12-01T02:00+00:00") == "s3"
    assert chosen("1d") == "s3" and chosen("2d") == "s1" and chosen("3d") == "s0"
    assert chosen("30h") == "s3" and chosen("32h") == "s2"  # by 03:00Z and by 01:00Z on 1 December
    assert chosen("7h") == "s4"


def test_nothing_that_day_names_the_nearest_instead_of_guessing():
    with pytest.raises(UsageError) as caught:
        chosen("2026-11-27")
    assert "no snapshot was started on 2026-11-27 (Europe/Berlin)" in str(caught.value)
    assert "s0" in caught.value.hint
    with pytest.raises(UsageError, match="4w old or older"):
        chosen("4w")


@pytest.mark.parametrize("text", ["last week", "3x", "2026-13-01", "-1d", "../x"])
def test_other_texts_are_usage_errors(text):
    with pytest.raises(UsageError, match="not a snapshot name, date, time or age"):
        parse_choice(text, NOW, BERLIN)


@given(st.lists(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1),
                             timezones=st.just(timezone.utc)), min_size=1, max_size=30, unique=True),
       st.integers(min_value=0, max_value=400))
def test_an_age_picks_exactly_the_newest_old_enough(stamps, hours):
    snapshots = [Snap(f"s{i}", t) for i, t in enumerate(stamps)]
    cut = NOW - timedelta(hours=hours)
    expected = max((s for s in snapshots if s.started <= cut), key=lambda s: s.started, default=None)
    if expected is None:
        with pytest.raises(UsageError):
            chosen(f"{hours}h", snapshots)
    else:
        assert chosen(f"{hours}h", snapshots) == expected.id
