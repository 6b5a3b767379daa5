"""Repository format 1 pieces that are pure: ids, travelsync.repo, snapshot.json, the auto
rule, rsync outcomes, manifests, and the local lock."""

import io
import os
from datetime import datetime, timedelta, timezone

import pytest

from travelsync.backup.outcome import Outcome, classify, retry_delays
from travelsync.backup.plan import choose_kind, full_interval
from travelsync.config.model import Schedule, ScheduleSpec
from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.repository import layout
from travelsync.repository.lock import local_lock
from travelsync.repository.snapshot import SnapshotInfo, from_json
from travelsync.rsync.run import RsyncResult
from travelsync.verify.build import build_manifest
from travelsync.verify.check import compare
from travelsync.verify.manifest import Entry, escape, read_entries, unescape

UTC = timezone.utc
SUNDAY = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)


def test_snapshot_ids_sort_by_time_and_never_collide():
    first = layout.snapshot_id(SUNDAY, "full")
    assert first == "20261122T023000Z-full"
    assert layout.snapshot_id(SUNDAY, "full", {first}) == "20261122T023000Z-full.2"
    assert layout.kind_of("20261123T023000Z-incr") == "incremental"
    assert not layout.is_snapshot_id("20261123T023000Z-incr.deleting")


def test_repo_file_round_trip_and_newer_format_refused():
    text = layout.repo_file_text(SUNDAY, "home")
    assert layout.check_repo_file(text, "/r")["format"] == 1
    with pytest.raises(TravelsyncError, match="format 2 is newer"):
        layout.check_repo_file("format: 2\n", "/r")
    with pytest.raises(TravelsyncError, match="no `format:`"):
        layout.check_repo_file("hello: 1\n", "/r")


def test_snapshot_json_round_trip():
    info = SnapshotInfo("20261122T023000Z-full", "full", None, SUNDAY, SUNDAY + timedelta(minutes=3),
                        "complete", 10, 2048, ("w",), ("home",), {"literal_data": 5}, ())
    assert from_json(info.to_json()) == info
    assert set(info.listing()) >= {"id", "kind", "status", "started", "finished", "files", "bytes"}


def snap(kind, started):
    return SnapshotInfo("x", kind, None, started, started, "complete", 0, 0)


SCHEDULE = Schedule(full=ScheduleSpec(("sun",), 2, 30), timezone="Europe/Berlin")


def test_auto_rule():
    monday = SUNDAY + timedelta(days=1)
    assert choose_kind("auto", SCHEDULE, [], monday) == "full"  # no full yet
    assert choose_kind("auto", SCHEDULE, [snap("full", SUNDAY)], monday) == "incremental"
    assert choose_kind("auto", SCHEDULE, [snap("full", SUNDAY - timedelta(days=7))], SUNDAY) == "full"
    assert choose_kind("auto", SCHEDULE, [snap("full", SUNDAY)], SUNDAY + timedelta(hours=5)) == "incremental"
    missed = [snap("full", SUNDAY - timedelta(days=8))]  # last Sunday's full never ran
    assert choose_kind("auto", SCHEDULE, missed, monday - timedelta(days=1, hours=1)) == "full"
    assert choose_kind("incremental", SCHEDULE, [], monday) == "incremental"
    assert full_interval(("sun",)) == timedelta(days=7)
    assert full_interval(("mon", "thu")) == timedelta(days=4)


@pytest.mark.parametrize("code,extra,outcome", [
    (0, {}, Outcome.OK), (24, {}, Outcome.VANISHED), (23, {}, Outcome.PARTIAL),
    (12, {}, Outcome.TRANSPORT), (255, {}, Outcome.TRANSPORT), (11, {"no_space": True}, Outcome.NO_SPACE),
    (23, {"no_space": True}, Outcome.NO_SPACE), (137, {"signal": 9}, Outcome.KILLED), (2, {}, Outcome.FAILED)])
def test_rsync_outcomes(code, extra, outcome):
    assert classify(RsyncResult(exit_code=code, **extra)) is outcome


def test_retry_delays_double():
    assert retry_delays(3, 5) == [5, 10, 20]
    assert retry_delays(0, 5) == []


def test_manifest_escaping_and_inheritance():
    odd = b"a\tb\nc\\d\xff"
    assert unescape(escape(odd)) == odd
    parent = io.BytesIO()
    build_manifest([(b"d/a", 1, 10), (odd, 2, 20)], (), lambda p: "h-" + p.hex(), parent)
    entries = list(read_entries(parent.getvalue()))
    assert [e.path for e in entries] == [b"d/a", odd]
    hashed = []
    child = io.BytesIO()
    counts = build_manifest([(b"d/a", 1, 10), (b"d/new", 3, 30), (odd, 2, 21)], iter(entries),
                            lambda p: hashed.append(p) or "new", child)
    assert counts == (2, 1) and hashed == [b"d/new", odd]  # unchanged d/a inherited its checksum
    report = compare("S", child.getvalue(), [(b"d/a", "h-" + b"d/a".hex()), (b"d/new", "bad"), (b"x", "new")])
    assert report.corrupted == [b"d/new"] and report.missing == [odd] and report.extra == [b"x"]


def test_local_lock_names_the_holder_and_takes_over_a_dead_one(tmp_path):
    notices = []
    lock = tmp_path / "lock"
    with local_lock(lock, "backup", "/repo"):
        with pytest.raises(TemporaryError, match=f"locked by pid {os.getpid()} .*travelsync backup"):
            with local_lock(lock, "prune", "/repo"):
                pass
    assert lock.read_text() == ""  # a clean release leaves no record
    lock.write_text("pid=999999 host=h command=backup started=then\n")  # a crashed holder's record
    with local_lock(lock, "backup", "/repo", notices.append):
        pass
    assert notices and "took over the lock of pid 999999" in notices[0]
