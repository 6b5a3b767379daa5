"""Repository format 1 pieces that are pure: ids, travelsync.repo, snapshot.json, the auto
rule, rsync outcomes, manifests, and the local lock."""

import io
import json
import os
import re
from datetime import datetime, timedelta, timezone

import pytest

from travelsync.backup.outcome import Outcome, classify
from travelsync.rsync.retry import RetryPolicy
from travelsync.backup.plan import choose_kind, full_interval
from travelsync.config.model import Schedule, ScheduleSpec
from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.repository import layout
from travelsync.errors import UsageError
from travelsync.location import Location
from travelsync.repository.lock import local_lock
from travelsync.repository.overview import Overview
from travelsync.shared_ssh import control_folder, control_path, control_path_fits, multiplexed, own_connection
from travelsync.repository.repository import Repository
from travelsync.repository.snapshot import DamagedSnapshot, SnapshotInfo, from_json, read_snapshot
from travelsync.rsync.run import RsyncResult
from travelsync.rsync.itemize import (CHECKSUM_WIDTH, is_linked_unchanged, name_candidates, split_listing,
                                      unescape_name)
from travelsync.verify.build import ParentEntries, SourceManifest
from travelsync.verify.check import compare
from travelsync.verify.manifest import HEADER_V1, Entry, Manifest, SectionSpool, escape, format_line, unescape
from travelsync.verify.order import rsync_order_key

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


@pytest.mark.parametrize("recorded, read", [(True, True), (False, False), (None, None), ("no", None), (0, None)])
def test_extended_attributes_flag_only_a_real_yes_or_no_counts(recorded, read):
    info = SnapshotInfo("20261122T023000Z-full", "full", None, SUNDAY, SUNDAY, "complete", 1, 1)
    document = {**info.to_json(), "extended_attributes": recorded}
    assert from_json(document).extended_attributes is read
    del document["extended_attributes"]  # a snapshot from before the flag: not known
    assert from_json(document).extended_attributes is None


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
    assert RetryPolicy(3, 5).delays() == [5, 10, 20]
    assert RetryPolicy(0, 5).delays() == []


def test_one_retry_policy_retries_transport_failures_only():
    """Backup and restore share with_retries: a transport failure is tried again after the
    policy's delays, anything else (a 23, a kill) is returned at once."""
    from travelsync.rsync.retry import with_retries

    codes, paused, told = iter([255, 12, 23, 0]), [], []
    result = with_retries(lambda number: RsyncResult(exit_code=next(codes)), RetryPolicy(3, 2),
                          on_retry=lambda result, delay: told.append((result.exit_code, delay)), pause=paused.append)
    assert (result.exit_code, paused, told) == (23, [2, 4], [(255, 2), (12, 4)])
    spent = with_retries(lambda number: RsyncResult(exit_code=255), RetryPolicy(1, 1), pause=paused.append)
    assert spent.exit_code == 255 and paused == [2, 4, 1]
    killed = with_retries(lambda number: RsyncResult(exit_code=255, signal=9), RetryPolicy(3, 1), pause=paused.append)
    assert killed.signal == 9 and paused == [2, 4, 1]


def _spooled(builder_lines):
    """Compress lines the way the engine does (one section); return the manifest bytes."""
    handle = io.BytesIO()
    spool = SectionSpool(handle)
    spool.begin()
    spool.write(builder_lines)
    spool.end()
    return handle.getvalue()


def test_section_spool_restarts_a_retried_section_and_reads_across_frames():
    handle = io.BytesIO()
    spool = SectionSpool(handle)
    spool.begin()
    spool.write(format_line(Entry(b"a/1", 1, "11")))
    spool.end()
    spool.begin()
    spool.write(format_line(Entry(b"b/half-sent", 2, "22")))  # the attempt that failed
    spool.restart()
    spool.write(format_line(Entry(b"b/2", 2, "22")))
    spool.end()
    assert [e.path for e in Manifest(handle.getvalue())] == [b"a/1", b"b/2"]


def _listing(code, size, checksum, name):
    line = b"%s %d %s %s" % (code, size, (checksum or " " * CHECKSUM_WIDTH).encode(), name)
    return split_listing(line)


def test_manifest_escaping_and_versions():
    odd = b"a\tb\nc\\d\xff"
    assert unescape(escape(odd)) == odd
    data = _spooled(format_line(Entry(b"d/a", 1, "aa")) + format_line(Entry(odd, 2, "bb")))
    manifest = Manifest(data)
    assert (manifest.version, manifest.algorithm) == (2, "xxh128")
    assert list(manifest) == [Entry(b"d/a", 1, "aa"), Entry(odd, 2, "bb")]
    import zstandard  # a version-1 manifest (sha256, with mtime) of an older snapshot still reads

    old = zstandard.ZstdCompressor().compress(HEADER_V1 + b"d/a\t1\t10\t" + b"5" * 64 + b"\n")
    old_manifest = Manifest(old)
    assert old_manifest.algorithm == "sha256" and list(old_manifest) == [Entry(b"d/a", 1, "5" * 64)]
    newer = zstandard.ZstdCompressor().compress(b"# travelsync manifest 9\tpath\n")
    with pytest.raises(TravelsyncError, match="manifest version 9 is newer"):
        Manifest(newer)


def test_rsync_listing_lines_parse_and_unescape():
    code, size, checksum, name = split_listing(b">f+++++++++ 3000000 9d6d7e8581a266b1c378eda65e764e68 big")
    assert (code, size, checksum, name) == (b">f+++++++++", b"3000000", b"9d6d7e8581a266b1c378eda65e764e68", b"big")
    code, size, checksum, name = _listing(b"hf         ", 5, None, b"we ird/n\\#012l\tt")
    assert checksum is None and unescape_name(name) == b"we ird/n\nl\tt"
    assert unescape_name(b"bs\\#134#123") == b"bs\\#123" and unescape_name(b"\\#377\\#376") == b"\xff\xfe"
    assert is_linked_unchanged(b"hf         ", b"a/x") and not is_linked_unchanged(b"hf+++++++++", b"a/x")
    assert not is_linked_unchanged(b"hf         ", b"a/hl => a/x")  # a -H follower
    assert name_candidates(b"p => q => r") == [b"p => q => r", b"p", b"p => q"]


def test_rsync_order_key_sorts_files_first_then_folders_with_slash():
    paths = [b"s/0", b"s/z", b"s/a.d/t", b"s/a/x", b"s/a/zz", b"s/a/b/y", b"s/a/b/c/w", b"s/a/b2/s", b"s/b/u"]
    assert sorted(reversed(paths), key=rsync_order_key) == paths


class _Batches:
    def __init__(self, digests):
        self.digests, self.calls = digests, []

    def __call__(self, names):
        self.calls.append(list(names))
        return {name: self.digests[name] for name in names if name in self.digests}


def _build(lines, parent=None, digests=None, bulk=False):
    """Feed listing lines one by one (`add`) or as rsync.run hands them over (`add_lines`)."""
    spool = io.BytesIO()
    hasher = _Batches(digests or {})
    builder = SourceManifest("home", spool, parent, hasher, lambda name: name.split(b" => ")[0])
    raw = [b"%s %d %s %s" % (code, size, (checksum or " " * CHECKSUM_WIDTH).encode(), name)
           for code, size, checksum, name in lines]
    if bulk:
        builder.add_lines([line for line in raw if line[1:2] == b"f"])
    else:
        for line in raw:
            builder.add(*split_listing(line))
    builder.finish()
    return builder, hasher, spool.getvalue()


@pytest.mark.parametrize("bulk", [False, True])
def test_full_takes_rsyncs_checksums_and_hashes_only_what_rsync_did_not_send(bulk):
    sent = "1" * 32
    builder, hasher, spool = _build([
        (b">f+++++++++", 4, sent, b"a.txt"),
        (b".f         ", 3, None, b"kept-from-resumed-partial"),
        (b"hf+++++++++", 4, None, b"hl => a.txt"),  # hard-link follower: no %C
        (b"cd+++++++++", 4096, None, b"docs/"),  # folders are not in the manifest
        (b">f+++++++++", 2, "2" * 32, b"docs/b"),
    ], digests={b"kept-from-resumed-partial": "3" * 32, b"hl": sent}, bulk=bulk)
    assert (builder.sent, builder.inherited, builder.hashed) == (2, 0, 2)
    assert hasher.calls == [[b"kept-from-resumed-partial", b"hl"]]
    assert [Entry(*e) for e in [(b"home/a.txt", 4, sent), (b"home/kept-from-resumed-partial", 3, "3" * 32),
                                (b"home/hl", 4, sent), (b"home/docs/b", 2, "2" * 32)]] == list(Manifest(_spooled(spool)))


@pytest.mark.parametrize("bulk", [False, True])
def test_incremental_inherits_linked_files_and_hashes_only_the_unexplained(bulk):
    parent_lines = b"".join(format_line(Entry(p, s, d)) for p, s, d in [
        (b"home/a", 1, "a" * 32), (b"home/gone", 1, "g" * 32), (b"home/odd\tname", 2, "o" * 32),
        (b"home/d/b", 3, "b" * 32), (b"home/d/c", 9, "c" * 32)])
    parent = ParentEntries(Manifest(_spooled(parent_lines)))
    builder, hasher, spool = _build([
        (b"hf         ", 1, None, b"a"),
        (b">f+++++++++", 5, "n" * 32, b"new"),
        (b"hf         ", 2, None, b"odd\tname"),
        (b">f.st......", 3, "x" * 32, b"d/b"),  # changed: rsync's checksum
        (b"hf         ", 4, None, b"d/c"),  # size differs from the parent's entry: not trusted
        (b"hf         ", 7, None, b"d/unknown"),  # not in the parent's manifest
    ], parent=parent, digests={b"d/c": "C" * 32, b"d/unknown": "u" * 32}, bulk=bulk)
    assert (builder.sent, builder.inherited, builder.hashed) == (2, 2, 2)
    assert hasher.calls == [[b"d/c", b"d/unknown"]]
    entries = {e.path: e.digest for e in Manifest(_spooled(spool))}
    assert entries == {b"home/a": "a" * 32, b"home/new": "n" * 32, b"home/odd\tname": "o" * 32,
                       b"home/d/b": "x" * 32, b"home/d/c": "C" * 32, b"home/d/unknown": "u" * 32}


def test_pending_lines_keep_their_order_across_batches(monkeypatch):
    import travelsync.verify.build as build

    monkeypatch.setattr(build, "BATCH", 2)
    lines = [(b".f         " if i % 2 else b">f+++++++++", 1, None if i % 2 else f"{i:032d}", b"f%02d" % i)
             for i in range(9)]
    builder, hasher, spool = _build(lines, digests={b"f%02d" % i: f"{i:032d}" for i in range(9)})
    assert len(hasher.calls) == 2 and builder.hashed == 4
    assert [e.path for e in Manifest(_spooled(spool))] == [b"home/f%02d" % i for i in range(9)]


def test_compare_reports_corrupted_missing_and_extra():
    data = _spooled(b"".join(format_line(Entry(p, 1, d)) for p, d in [(b"d/a", "aa"), (b"d/new", "nn"), (b"m", "mm")]))
    report = compare("S", data, [(b"d/a", "aa"), (b"d/new", "bad"), (b"x", "xx")])
    assert report.corrupted == [b"d/new"] and report.missing == [b"m"] and report.extra == [b"x"]


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


# ---------------------------------------------------------------- damaged snapshot.json
def document(snapshot_id: str, **changes) -> bytes:
    kind = "full" if snapshot_id.endswith("-full") else "incremental"
    started = datetime.strptime(snapshot_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    info = SnapshotInfo(snapshot_id, kind, None, started, started + timedelta(minutes=1), "complete", 3, 30)
    return json.dumps({**info.to_json(), **changes}).encode()


@pytest.mark.parametrize("data, unreadable, reason", [
    (None, None, "is missing"),
    (b"", None, "is damaged (not valid JSON"),
    (b'{"id": "20261122T023000Z-full", "kind": "fu', None, "is damaged (not valid JSON"),
    (b"\0" * 40, None, "is damaged (not valid JSON"),
    (b"[1, 2]", None, "is damaged (a JSON list, not an object)"),
    (None, "Permission denied", "cannot be read (Permission denied)"),
])
def test_read_snapshot_says_what_is_wrong(data, unreadable, reason):
    with pytest.raises(DamagedSnapshot) as raised:
        read_snapshot("20261122T023000Z-full", data, unreadable)
    assert str(raised.value).startswith(reason)


@pytest.mark.parametrize("changes, reason", [
    ({"id": "20261123T023000Z-incr"}, "it names snapshot '20261123T023000Z-incr', not its folder"),
    ({"started": None}, "is damaged"),
    ({"finished": "2026-11-22T02:31:00"}, "field finished: is an ISO 8601 time without its UTC offset"),
    ({"kind": "weekly"}, "field kind: is not one of 'full', 'incremental' ('weekly')"),
    ({"format": 2}, "is of format 2, newer than this travelsync understands"),
])
def test_read_snapshot_refuses_a_document_it_cannot_trust(changes, reason):
    data = json.loads(document("20261122T023000Z-full"))
    data.update(changes)
    if changes.get("started", 0) is None:
        del data["started"]
    with pytest.raises(DamagedSnapshot, match=re.escape(reason)):
        read_snapshot("20261122T023000Z-full", json.dumps(data).encode())
    assert read_snapshot("20261122T023000Z-full", document("20261122T023000Z-full")).kind == "full"


class ListingStore:
    """A store that only answers `overview` (the listing logic is pure over it)."""

    def __init__(self, documents, latest):
        self.location = Location("/repo")
        self.view = Overview(b"format: 1\n", False, latest, [], documents)

    def overview(self):
        return self.view


IDS = ["20261122T023000Z-full", "20261123T023000Z-incr", "20261124T023000Z-incr"]


@pytest.mark.parametrize("victim", IDS)
def test_a_damaged_snapshot_is_named_never_listed_and_never_silently_latest(victim):
    documents = [(name, None if name == victim else document(name)) for name in IDS]
    repository = Repository(ListingStore(documents + [("notes", None)], f"snapshots/{IDS[-1]}"))
    intact = [name for name in IDS if name != victim]
    assert [s.id for s in repository.snapshots()] == intact
    assert repository.damaged == {victim: "is missing"}
    assert any(victim in line and "/repo/snapshots/" + victim + "/snapshot.json is missing" in line
               for line in repository.problems)
    with pytest.raises(TravelsyncError, match=f"snapshot {victim}: .*snapshot.json is missing") as raised:
        repository.get(victim)
    assert raised.value.exit_status == 1
    assert repository.named(victim)[0] == victim
    if victim == IDS[-1]:  # `latest` names it: said, and named() never hands out another one
        assert repository.latest().id == intact[-1]
        assert repository.latest_problem() == (f"`latest` names {victim}, whose snapshot.json is missing; "
                                               f"the newest intact snapshot is {intact[-1]}")
        assert repository.named("latest") == (victim, repository.damage_report(victim))
        with pytest.raises(TravelsyncError, match="snapshot.json is missing"):
            repository.get("latest")
    else:
        assert repository.latest_problem() is None and repository.get("latest").id == IDS[-1]
    if victim == IDS[0]:  # the newest full is damaged: `last-full` says so, never an older one silently
        assert repository.named("last-full")[1] is not None
    with pytest.raises(UsageError, match="no snapshot 'notes'"):
        repository.get("notes")


def test_latest_naming_a_vanished_snapshot_is_a_problem():
    repository = Repository(ListingStore([(name, document(name)) for name in IDS[:2]], f"snapshots/{IDS[-1]}"))
    assert repository.latest().id == IDS[1]
    assert repository.problems == [f"`latest` names {IDS[-1]}, which does not exist; the newest intact snapshot "
                                   f"is {IDS[1]}"]
    assert repository.named("latest")[1] == repository.problems[0]


# ---------------------------------------------------------------- the ssh connections
def test_control_path_stays_short_whatever_the_runtime_folder(tmp_path):
    assert control_path_fits(control_path("/run/user/1000", "0123456789"))
    long = "/tmp/" + "x" * 60
    assert not control_path_fits(control_path(long, "0123456789"))
    folder = control_folder({"XDG_RUNTIME_DIR": long})
    assert folder == f"/tmp/travelsync-{os.getuid()}"
    info = os.lstat(folder)
    assert info.st_uid == os.getuid() and not info.st_mode & 0o077
    assert control_folder({"XDG_RUNTIME_DIR": "/run/user/1000"}) == "/run/user/1000"


def test_the_lock_never_rides_the_shared_connection():
    from travelsync.config.model import SshConfig

    ssh = SshConfig(port=2222, identity=None, options=("-o", "ControlPath=/mine/%C"))
    shared = multiplexed(ssh, {"XDG_RUNTIME_DIR": "/run/user/1000"})
    own = own_connection(ssh)
    assert shared.options[:4] == ("-o", "ControlMaster=no", "-o", shared.options[3])
    assert shared.options[3].startswith("ControlPath=/run/user/1000/ts-") and shared.options[3].endswith("-%C")
    assert own.options[:4] == ("-o", "ControlMaster=no", "-o", "ControlPath=none")  # ssh takes the first value
