"""The change-list format (repository/change_list.py), its sort encoding (backup/change_record.py)
and the union a delta restore replays (restore/delta.py): pure, no rsync."""

import io
import random

import pytest

from travelsync.backup.change_record import from_sort_record, sort_record
from travelsync.repository import change_list
from travelsync.restore import delta

AWKWARD = [b"home/a", b"home/a!", b"home/a/b", b"home/a.d/x", b"home/odd\nname", b"home/tab\there",
           b"home/caf\xe9", b"home/\x01\x02\x03mix", b"home/\x02", b"home/a/\x01", b"home"]


def written(records, parent="20261122T023000Z-full", filters="ab12", scope=change_list.LIST) -> bytes:
    handle = io.BytesIO()
    writer = change_list.Writer(handle, parent, filters, scope)
    for tag, path in records:
        writer.add(tag, path)
    writer.close()
    return handle.getvalue()


def test_any_file_name_survives_the_round_trip_with_its_header():
    records = [(change_list.CHANGED, path) for path in sorted(AWKWARD, key=change_list.component_key)]
    reader, back = change_list.read_all(written(records))
    assert back == records
    assert (reader.parent, reader.filters, reader.scope) == ("20261122T023000Z-full", "ab12", "list")


@pytest.mark.parametrize("damage", ["cut", "flipped", "not zstd", "no end"])
def test_a_damaged_list_is_refused_not_half_read(damage):
    data = written([(change_list.ADDED, b"home/x%d" % n) for n in range(2000)])
    if damage == "cut":
        data = data[:len(data) // 2]
    elif damage == "flipped":
        data = bytearray(data)
        data[len(data) // 2] ^= 0x55
        data = bytes(data)
    elif damage == "not zstd":
        data = b"# travelsync changes 1\n"
    else:
        import zstandard

        text = zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 22)
        data = zstandard.ZstdCompressor().compress(text[:text.rindex(b".")])
    with pytest.raises(change_list.Damaged):
        change_list.read_all(data)


@pytest.mark.parametrize("path", [b"home/../../etc/passwd", b"/etc/passwd", b"home//x", b"home/./x", b"home/"])
def test_a_path_that_could_leave_the_snapshot_makes_the_list_damaged(path):
    with pytest.raises(change_list.Damaged, match="plain relative path"):
        change_list.read_all(written([(change_list.ADDED, b"home/a"), (change_list.DELETED, path)]))


def test_another_version_is_refused():
    import zstandard

    data = zstandard.ZstdCompressor().compress(b"# travelsync changes 2\tparent=\tfilters=\tscope=list\n.0\0")
    with pytest.raises(change_list.Damaged, match="version 2"):
        change_list.read_all(data)


def test_sort_records_order_bytewise_as_paths_order_by_component():
    paths = list(AWKWARD)
    random.Random(7).shuffle(paths)
    records = sorted(sort_record(change_list.ADDED, path) for path in paths)
    assert [from_sort_record(record[:-1])[1] for record in records] == sorted(AWKWARD, key=change_list.component_key)
    assert all(from_sort_record(sort_record(tag, path)[:-1]) == (tag, path)
               for tag in change_list.TAGS for path in AWKWARD)


def lists(*snapshots):
    return [change_list.Reader(io.BytesIO(written(sorted(records, key=lambda r: change_list.component_key(r[1])))))
            for records in snapshots]


def test_the_union_takes_the_newest_record_and_leaves_out_what_a_gone_folder_held():
    A, C, F, D = change_list.ADDED, change_list.CHANGED, change_list.FOLDER, change_list.DELETED
    first = [(A, b"home/new"), (A, b"home/new/a"), (A, b"home/keep"), (D, b"home/old.txt"), (F, b"home")]
    second = [(D, b"home/new"), (C, b"home/keep"), (F, b"home")]
    third = [(A, b"home/old.txt"), (F, b"home")]
    assert list(delta.union(lists(first, second, third))) == [
        (b"home", F), (b"home/keep", C), (b"home/new", D), (b"home/old.txt", A)]


def test_what_a_folder_held_before_it_became_a_file_is_left_out():
    A, F = change_list.ADDED, change_list.FOLDER
    merged = list(delta.union(lists([(A, b"home/flip"), (A, b"home/flip/inside"), (A, b"home/flop")],
                                    [(F, b"home/keep"), (A, b"home/keep/new")],
                                    [(A, b"home/flip"), (A, b"home/flop"), (A, b"home/flop/x")])))
    assert merged == [(b"home/flip", A), (b"home/flop", A), (b"home/flop/x", A), (b"home/keep", F),
                      (b"home/keep/new", A)]


def test_a_folder_added_again_keeps_what_is_inside_it():
    A, D = change_list.ADDED, change_list.DELETED
    merged = list(delta.union(lists([(D, b"home/x")], [(A, b"home/x"), (A, b"home/x/y")])))
    assert merged == [(b"home/x", A), (b"home/x/y", A)]


def test_the_laptop_holds_the_last_finished_restore_of_the_trip():
    prepared = {"state": "prepared", "prepare": {"snapshot": "20261122T023000Z-full", "paths": ["home/Mail"],
                                                  "target": "/laptop"}}
    assert delta.basis_of(prepared, ["home/Mail"], "/laptop") == ("20261122T023000Z-full", "")
    finalized = {**prepared, "state": "finalized", "finalize": {"snapshot": "20261124T023000Z-incr",
                                                                "paths": ["home/Mail"], "target": "/laptop"}}
    assert delta.basis_of(finalized, ["home/Mail"], "/laptop")[0] == "20261124T023000Z-incr"
    assert delta.basis_of(prepared, ["home/Mail/cur"], "/laptop")[0] == "20261122T023000Z-full"  # inside it
    assert delta.basis_of(prepared, ["home/Mail", "home/src"], "/laptop")[0] is None
    assert delta.basis_of(prepared, ["home/Mailbox"], "/laptop")[0] is None
    assert delta.basis_of(prepared, ["home/Mail"], "/elsewhere")[0] is None
    assert delta.basis_of({"state": "idle"}, ["home/Mail"], "/laptop")[0] is None


def test_deleted_sh_names_what_went_from_the_changed_folders_only(tmp_path):
    """resources/remote/deleted.sh, run here with sh as over ssh: any name, one folder level."""
    import os
    import subprocess

    from travelsync.resources import remote_program

    names = [b"-rf", b"new\nline", b"sp ace", b"caf\xe9", b"sub"]
    for side in ("parent", "new"):
        for folder in (b"", b"-dash/", b"same/"):
            os.makedirs(os.path.join(os.fsencode(tmp_path / side), folder), exist_ok=True)
    for name in names:
        for folder in (b"", b"-dash/", b"same/"):
            path = os.path.join(os.fsencode(tmp_path / "parent"), folder + name)
            os.mkdir(path) if name == b"sub" else open(path, "wb").close()
    for name in (b"-rf", b"sub"):
        os.makedirs(os.path.join(os.fsencode(tmp_path / "new"), name), exist_ok=True)
    done = subprocess.run(["sh", "-c", remote_program("deleted.sh"), "travelsync", str(tmp_path / "parent"),
                           str(tmp_path / "new")], input=b".\0./-dash\0", capture_output=True, check=True)
    gone = sorted(done.stdout.split(b"\0")[:-1])
    assert gone == sorted([b"./" + n for n in names if n not in (b"-rf", b"sub")]
                          + [b"./-dash/" + n for n in names])
