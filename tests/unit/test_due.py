"""The due-rule, table-driven: every case replays a stretch of time the way cron would see it.

`replay` asks `is_due` every few minutes while the machine is on and records a run (started at
that moment) whenever one is due, exactly like `@hourly travelsync backup --if-due` would.
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from travelsync.config.model import WEEKDAYS, Schedule, ScheduleSpec
from travelsync.schedule.due import FUTURE_TOLERANCE, decide, is_due
from travelsync.schedule.slots import full_interval, last_slot, next_runs, wall_to_instant

UTC = timezone.utc
BERLIN = "Europe/Berlin"
LOS_ANGELES = "America/Los_Angeles"


def schedule(zone=BERLIN, full="sun", hour=2, minute=30):
    return Schedule(ScheduleSpec((full,), hour, minute), ScheduleSpec(WEEKDAYS, hour, minute), zone)


def at(text, zone=BERLIN):
    """Local wall time `text` (first occurrence) in `zone`, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def replay(sched, runs, start, end, step=timedelta(minutes=10), off=(), zone_at=None):
    """Check every `step` from start to end (skipping `off` intervals); return the runs made."""
    runs = list(runs)
    made = []
    now, end = start.astimezone(UTC), end.astimezone(UTC)  # step real time, not wall time
    off = [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in off]
    while now <= end:
        if not any(a <= now < b for a, b in off):
            current = zone_at(now) if zone_at else sched
            kind = is_due(current, runs, now)
            if kind:
                runs.append((kind, now))
                made.append((kind, now))
        now += step
    return made


def local_days(made, zone):
    return [started.astimezone(ZoneInfo(zone)).date() for _, started in made]


# A week of history ending with a full on Sunday 2026-11-15 and incrementals up to Saturday.
def history(zone=BERLIN, last_day=date(2026, 11, 21)):
    runs = []
    day = date(2026, 11, 15)
    while day <= last_day:
        kind = "full" if day.weekday() == 6 else "incremental"
        runs.append((kind, wall_to_instant(day, 2, 30, ZoneInfo(zone)) + timedelta(seconds=5)))
        day += timedelta(days=1)
    return runs


NORMAL_WEEK = dict(start=at("2026-11-22T00:00"), end=at("2026-11-28T23:50"))


@pytest.mark.parametrize("case", [
    # name, schedule, runs, start, end, off, expected [(kind, local time)]
    dict(name="normal week: full Sunday, incrementals Mon..Sat, one run per slot",
         sched=schedule(), runs=history(), off=(), **NORMAL_WEEK,
         expected=[("full", "2026-11-22T02:30")] + [("incremental", f"2026-11-{d}T02:30") for d in range(23, 29)]),
    dict(name="missed Sunday, back Monday morning: the next run is a full",
         sched=schedule(), runs=history(), off=[(at("2026-11-21T12:00"), at("2026-11-23T09:00"))],
         start=at("2026-11-21T00:00"), end=at("2026-11-24T23:50"),
         expected=[("full", "2026-11-23T09:00"), ("incremental", "2026-11-24T02:30")]),
    dict(name="missed Sunday, back Monday before the Monday slot: a full, then Monday's incremental",
         sched=schedule(), runs=history(), off=[(at("2026-11-21T12:00"), at("2026-11-23T01:00"))],
         start=at("2026-11-21T00:00"), end=at("2026-11-23T23:50"),
         expected=[("full", "2026-11-23T01:00"), ("incremental", "2026-11-23T02:30")]),
    dict(name="asleep through the Sunday slot, awake Sunday noon: the full runs then",
         sched=schedule(), runs=history(), off=[(at("2026-11-22T00:00"), at("2026-11-22T12:00"))],
         start=at("2026-11-22T00:00"), end=at("2026-11-23T23:50"),
         expected=[("full", "2026-11-22T12:00"), ("incremental", "2026-11-23T02:30")]),
    dict(name="off for ten days: one run at boot (a full), not ten",
         sched=schedule(), runs=history(), off=[(at("2026-11-21T12:00"), at("2026-12-01T18:00"))],
         start=at("2026-11-21T00:00"), end=at("2026-12-02T12:00"),
         expected=[("full", "2026-12-01T18:00"), ("incremental", "2026-12-02T02:30")]),
    dict(name="empty repository on a Wednesday: the first run is a full",
         sched=schedule(), runs=[], off=(),
         start=at("2026-11-25T10:00"), end=at("2026-11-26T12:00"),
         expected=[("full", "2026-11-25T10:00"), ("incremental", "2026-11-26T02:30")]),
    dict(name="off ten days then back on a Sunday: the full slot wins",
         sched=schedule(), runs=history(), off=[(at("2026-11-21T12:00"), at("2026-11-29T08:00"))],
         start=at("2026-11-21T00:00"), end=at("2026-11-29T23:00"),
         expected=[("full", "2026-11-29T08:00")]),
], ids=lambda case: case["name"])
def test_replayed_weeks(case):
    made = replay(case["sched"], case["runs"], case["start"], case["end"], off=case["off"])
    assert [(kind, started.astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None).isoformat(timespec="minutes"))
            for kind, started in made] == case["expected"]


DST_NIGHTS = [
    # zone, the DST night, the local time of the daily slot, the first instant the slot may fire
    (BERLIN, "autumn", date(2026, 10, 25), (2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    (BERLIN, "spring", date(2026, 3, 29), (2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    (LOS_ANGELES, "autumn", date(2026, 11, 1), (1, 30), datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
    (LOS_ANGELES, "spring", date(2026, 3, 8), (2, 30), datetime(2026, 3, 8, 10, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize("zone,season,night,hm,slot_utc", DST_NIGHTS,
                         ids=[f"{z}-{s}" for z, s, *_ in DST_NIGHTS])
@pytest.mark.parametrize("full_day", ["sun", "wed"], ids=["full-that-night", "incremental-that-night"])
def test_dst_nights_one_run_no_skipped_day(zone, season, night, hm, slot_utc, full_day):
    """Autumn: the repeated hour makes no second run. Spring: the missing hour skips no day."""
    sched = schedule(zone, full=full_day, hour=hm[0], minute=hm[1])
    tz = ZoneInfo(zone)
    assert wall_to_instant(night, *hm, tz) == slot_utc
    start = datetime.combine(night - timedelta(days=2), datetime.min.time(), tz)
    runs = [("full", wall_to_instant(night - timedelta(days=3), *hm, tz) + timedelta(seconds=5))]
    made = replay(sched, runs, start, start + timedelta(days=5), step=timedelta(minutes=5))
    assert local_days(made, zone) == [night + timedelta(days=d) for d in range(-2, 3)]
    that_night = [started for _, started in made if started.astimezone(tz).date() == night]
    assert that_night == [slot_utc], "exactly one run that night, at the slot's first instant"
    assert made[2][0] == ("full" if full_day == "sun" else "incremental")


def test_ambiguous_and_missing_wall_times():
    berlin = ZoneInfo(BERLIN)
    autumn = wall_to_instant(date(2026, 10, 25), 2, 30, berlin)
    assert autumn.astimezone(berlin).utcoffset() == timedelta(hours=2), "first occurrence (CEST)"
    spring = wall_to_instant(date(2026, 3, 29), 2, 30, berlin)
    assert spring.astimezone(berlin).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0), "gap end, 03:00 CEST"
    ordinary = wall_to_instant(date(2026, 11, 22), 2, 30, berlin)
    assert ordinary == datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


def test_timezone_change_travelling_west_at_most_one_extra_run_and_none_skipped():
    """Berlin until Wednesday noon, then Los Angeles (schedule.timezone = null: the machine's zone)."""
    arrival = at("2026-11-25T12:00")
    runs = history(last_day=date(2026, 11, 21))

    def zone_at(now):
        return schedule(BERLIN if now < arrival else LOS_ANGELES)

    made = replay(schedule(), runs, at("2026-11-22T00:00"), at("2026-11-30T12:00", LOS_ANGELES), zone_at=zone_at)
    before = [m for m in made if m[1] < arrival]
    after = [m for m in made if m[1] >= arrival]
    assert local_days(before, BERLIN) == [date(2026, 11, d) for d in range(22, 26)]
    la_days = local_days(after, LOS_ANGELES)
    # Wednesday's LA 02:30 slot was 16:30 Berlin time, after the Berlin run: one extra run.
    assert la_days == [date(2026, 11, 25)] + [date(2026, 11, d) for d in range(26, 31)]
    assert [k for k, s in made if s.astimezone(ZoneInfo(LOS_ANGELES)).date() == date(2026, 11, 29)] == ["full"]


def test_timezone_change_travelling_east_skips_no_day():
    arrival = at("2026-11-25T12:00", LOS_ANGELES)
    runs = history(LOS_ANGELES)

    def zone_at(now):
        return schedule(LOS_ANGELES if now < arrival else BERLIN)

    made = replay(schedule(LOS_ANGELES), runs, at("2026-11-22T00:00", LOS_ANGELES), at("2026-11-30T12:00"),
                  zone_at=zone_at)
    after = [m for m in made if m[1] >= arrival]
    assert local_days(after, BERLIN) == [date(2026, 11, d) for d in range(26, 31)]
    assert len(made) == 9


def test_clock_far_in_the_past_neither_stalls_nor_storms():
    """An RTC reset: the repository holds runs from 'the future'. One run is due, then none until the next slot."""
    sched = schedule()
    future = [("full", at("2027-06-06T02:30")), ("incremental", at("2027-06-07T02:30"))]
    now = at("2026-11-25T10:00")
    decision = decide(sched, future, now)
    assert decision.kind == "full" and decision.ignored_future_runs == 2
    made = replay(sched, future, now, at("2026-11-27T12:00"))
    assert [(k, s.astimezone(ZoneInfo(BERLIN)).strftime("%d %H:%M")) for k, s in made] == [
        ("full", "25 10:00"), ("incremental", "26 02:30"), ("incremental", "27 02:30")]


def test_clock_stepped_back_a_little_makes_no_duplicate():
    """NTP stepped the clock back 40 minutes right after the 02:30 run: the slot stays covered."""
    sched = schedule()
    runs = history() + [("full", at("2026-11-22T02:30:05"))]
    made = replay(sched, runs, at("2026-11-22T01:55"), at("2026-11-22T23:00"))
    assert made == []
    assert FUTURE_TOLERANCE >= timedelta(minutes=40)


def test_clock_stepped_back_hours_makes_at_most_one_extra_run():
    """A dual-boot RTC in local time: three hours back after the run."""
    sched = schedule()
    runs = history() + [("full", at("2026-11-22T05:00"))]
    made = replay(sched, runs, at("2026-11-22T02:00"), at("2026-11-23T12:00"))
    assert [k for k, _ in made] == ["full", "incremental"]
    assert made[0][1] == at("2026-11-22T02:30")


@pytest.mark.parametrize("days,expected", [(("sun",), 7), (("sun", "wed"), 4), (("mon", "tue"), 6),
                                          (WEEKDAYS, 1)])
def test_full_interval(days, expected):
    assert full_interval(Schedule(ScheduleSpec(days, 2, 30), ScheduleSpec(WEEKDAYS, 2, 30), BERLIN)) == \
        timedelta(days=expected)


def test_full_interval_decides_after_a_missed_full_day():
    """Full on Sunday and Wednesday: Thursday after a missed Wednesday is a full, after a kept one an incremental."""
    sched = Schedule(ScheduleSpec(("sun", "wed"), 2, 30), ScheduleSpec(WEEKDAYS, 2, 30), BERLIN)
    thursday = at("2026-11-26T03:00")
    assert is_due(sched, [("full", at("2026-11-22T02:30"))], thursday) == "full"
    assert is_due(sched, [("full", at("2026-11-25T02:30")), ("incremental", at("2026-11-25T03:00"))],
                  thursday) == "incremental"


def test_slot_kinds_and_next_runs():
    sched = schedule()
    saturday_night = at("2026-11-21T23:00")
    assert last_slot(sched, saturday_night, ZoneInfo(BERLIN)).kind == "incremental"
    assert last_slot(sched, at("2026-11-22T02:30"), ZoneInfo(BERLIN)).kind == "full"
    nxt = next_runs(sched, saturday_night)
    assert nxt["full"] == at("2026-11-22T02:30")
    assert nxt["incremental"] == at("2026-11-23T02:30"), "Sunday's slot is a full, not an incremental"
    assert nxt["full"].tzinfo == ZoneInfo(BERLIN)


def test_runs_given_in_any_offset_compare_as_instants():
    """Runs read from snapshot.json in UTC and now in a local offset: instants, not wall times."""
    sched = schedule()
    runs = [("full", datetime(2026, 11, 22, 1, 30, 5, tzinfo=UTC))]
    assert is_due(sched, runs, datetime(2026, 11, 22, 3, 0, tzinfo=timezone(timedelta(hours=1)))) is None
    assert is_due(sched, runs, datetime(2026, 11, 23, 3, 0, tzinfo=timezone(timedelta(hours=-8)))) == "incremental"
