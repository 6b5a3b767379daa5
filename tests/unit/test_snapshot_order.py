"""Snapshot ids stay in the order the snapshots were taken, whatever the clock says (issue 14,
finding 7): a run whose clock is behind the newest snapshot gets an id after it, and the
repository lists, links and prunes by that recorded order (pure: ids and the listing's sort)."""

import json
from datetime import datetime, timedelta, timezone

from travelsync.repository import layout
from travelsync.repository.snapshot import SnapshotInfo

UTC = timezone.utc
TRUE = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)


def test_a_clock_behind_the_newest_id_gives_the_next_second_after_it():
    taken = {"20261122T023000Z-full", "20261124T023000Z-incr"}
    behind = TRUE - timedelta(days=4)
    made = layout.snapshot_id(behind, "full", taken)
    assert made == "20261124T023001Z-full"
    assert layout.order_key(made) > max(layout.order_key(n) for n in taken)
    assert layout.snapshot_id(TRUE + timedelta(hours=1), "incremental", taken) == "20261124T033000Z-incr"


def test_the_same_second_counts_on_whatever_the_kind():
    taken = {"20261124T023000Z-full"}
    made = layout.snapshot_id(TRUE, "incremental", taken)
    assert made == "20261124T023000Z-incr.2"  # not `-incr`: two ids of one second would not be ordered
    then = layout.snapshot_id(TRUE, "full", taken | {made})
    assert then == "20261124T023000Z-full.3"
    keys = [layout.order_key(n) for n in ("20261124T023000Z-full", made, then)]
    assert keys == sorted(keys) and len(set(keys)) == 3


def test_counters_past_nine_keep_their_order():
    assert layout.order_key("20261124T023000Z-incr.10") > layout.order_key("20261124T023000Z-incr.9")


def test_damaged_or_stray_names_do_not_disturb_the_order():
    taken = {"20261124T023000Z-full", "lost+found", "20261130T000000Z-incr.deleting"}
    assert layout.snapshot_id(TRUE, "incremental", taken) == "20261124T023000Z-incr.2"


def _snapshot(folder, snapshot_id, started):
    info = SnapshotInfo(snapshot_id, layout.kind_of(snapshot_id), None, started, started + timedelta(minutes=1),
                        "complete", 1, 1, (), ("home",))
    path = folder / "snapshots" / snapshot_id
    path.mkdir(parents=True)
    (path / layout.SNAPSHOT_FILE).write_text(json.dumps(info.to_json()))


def test_the_listing_latest_fallback_and_last_full_follow_the_ids_not_the_clock(tmp_path):
    from travelsync.location import parse_location
    from travelsync.repository.local_store import LocalStore
    from travelsync.repository.repository import Repository

    (tmp_path / layout.REPO_FILE).write_text(layout.repo_file_text(TRUE, "home"))
    (tmp_path / "partial").mkdir()
    _snapshot(tmp_path, "20261124T023000Z-full", TRUE)
    _snapshot(tmp_path, "20261124T023001Z-full", TRUE - timedelta(days=4))  # taken with the clock behind
    _snapshot(tmp_path, "20261124T023002Z-incr", TRUE - timedelta(days=3))
    repository = Repository(LocalStore(parse_location(str(tmp_path))))
    assert [s.id for s in repository.snapshots()] == [
        "20261124T023000Z-full", "20261124T023001Z-full", "20261124T023002Z-incr"]
    assert repository.latest().id == "20261124T023002Z-incr"  # no `latest` link: the newest by order
    assert repository.last_full().id == "20261124T023001Z-full"
    assert repository.named("last-full")[0] == "20261124T023001Z-full"
