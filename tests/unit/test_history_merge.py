"""The history's pure parts: path_key sorts as rsync does, a manifest out of order is sorted
through temporary files, and the streaming diff equals a comparison of two dictionaries."""

import io

import zstandard
from hypothesis import given, strategies as st

from travelsync.history import ordered
from travelsync.history.diff import Totals, differences
from travelsync.history.ordered import OrderedManifest, in_sequence, path_key
from travelsync.history.search import exact_matcher, glob_matcher, log
from travelsync.verify.manifest import HEADER, HEADER_V1, Entry, Manifest, escape, format_line
from travelsync.verify.order import rsync_order_key

names = st.sampled_from([b"a", b"a.d", b"a b", b"b", b"\xff", b"t\tab", b"n\nl", b"x\\y", b"A", b"a-"])
paths = st.lists(names, min_size=1, max_size=4).map(lambda parts: b"/".join([b"home", *parts]))


def compressed(entries, version=2) -> bytes:
    if version == 2:
        body = HEADER + b"".join(format_line(e) for e in entries)
    else:
        body = HEADER_V1 + b"".join(b"%s\t%d\t0\t%s\n" % (escape(e.path), e.size, e.digest.encode()) for e in entries)
    return zstandard.ZstdCompressor().compress(body)


def files(draw_paths):
    """A valid tree: no path is both a file and a folder."""
    chosen = {}
    for path in draw_paths:
        if any(path.startswith(other + b"/") or other.startswith(path + b"/") for other in chosen):
            continue
        chosen[path] = None
    return list(chosen)


@given(st.lists(paths, max_size=40))
def test_path_key_orders_as_rsync_does(found):
    assert sorted(found, key=path_key) == sorted(found, key=rsync_order_key)


@given(st.lists(paths, max_size=60, unique=True), st.randoms(use_true_random=False), st.sampled_from([1, 2]))
def test_any_order_comes_out_in_rsyncs_order(found, rng, version):
    found = files(found)
    entries = [Entry(p, n, f"{n:032x}") for n, p in enumerate(found)]
    rng.shuffle(entries)
    data = compressed(entries, version)
    original = ordered.CHUNK
    ordered.CHUNK = 3  # several runs to merge
    try:
        with OrderedManifest(lambda: io.BytesIO(data)) as manifest:
            out = list(manifest)
    finally:
        ordered.CHUNK = original
    assert [e.path for e in out] == sorted(found, key=rsync_order_key)
    assert {e.path: (e.size, e.digest) for e in out} == {e.path: (e.size, e.digest) for e in entries}


def test_a_manifest_in_order_is_streamed_without_temporary_files():
    entries = [Entry(p, 1, "0" * 32) for p in sorted([b"home/a", b"home/z", b"home/d/x"], key=path_key)]
    with OrderedManifest(lambda: io.BytesIO(compressed(entries))) as manifest:
        assert list(manifest) == entries and manifest.files == []


@given(paths, paths)
def test_neighbours_compare_as_their_keys_do(a, b):
    assert in_sequence(a, b) == (path_key(a) <= path_key(b))


trees = st.dictionaries(paths, st.tuples(st.integers(0, 3), st.sampled_from("xyz")), max_size=30)


@given(trees, trees, st.sampled_from([None, b"home/a", b"home/a.d", b"home"]))
def test_the_streaming_diff_equals_a_dictionary_comparison(before, after, prefix):
    before = {p: before[p] for p in files(list(before))}
    after = {p: after[p] for p in files(list(after))}
    as_entries = lambda tree: sorted((Entry(p, s, d * 32) for p, (s, d) in tree.items()), key=lambda e: path_key(e.path))
    totals = Totals()
    found = list(differences(as_entries(before), as_entries(after), prefix=prefix, totals=totals))
    inside = lambda p: prefix is None or p == prefix or p.startswith(prefix + b"/")
    assert {d.path for d in found if d.kind == "added"} == {p for p in after.keys() - before.keys() if inside(p)}
    assert {d.path for d in found if d.kind == "removed"} == {p for p in before.keys() - after.keys() if inside(p)}
    assert {d.path for d in found if d.kind == "changed"} == {
        p for p in before.keys() & after.keys() if inside(p) and before[p] != after[p]}
    assert totals.added_bytes == sum(after[d.path][0] for d in found if d.kind == "added")
    assert totals.unchanged == sum(1 for p in before.keys() & after.keys() if inside(p) and before[p] == after[p])


def test_globs_match_inside_the_source_or_with_its_name():
    match = glob_matcher("*.pdf")
    assert match(b"home/a/b.pdf") and not match(b"home/a/b.pdfx")
    assert glob_matcher("home/docs/*")(b"home/docs/x/y") and glob_matcher("docs/*")(b"home/docs/x")
    assert exact_matcher("docs/x")(b"home/docs/x") and not exact_matcher("docs")(b"home/docs/x")


class Snap:
    def __init__(self, id):
        self.id, self.started = id, None


def test_log_lists_appearance_change_removal_and_return_newest_first():
    states = [{b"home/f": ("a", 1)}, {b"home/f": ("a", 1)}, {b"home/f": ("b", 2)}, {}, {b"home/f": ("b", 2)}]
    snaps = [Snap(f"s{n}") for n in range(len(states))]
    entries_of = lambda s, match: [Entry(p, size, d) for p, (d, size) in states[int(s.id[1:])].items()]
    versions = log(snaps, entries_of, exact_matcher("f"))
    assert [(v.snapshot, v.change) for v in versions] == [("s4", "added"), ("s3", "removed"), ("s2", "changed"),
                                                          ("s0", "added")]


def test_a_version_1_checksum_against_a_version_2_one_compares_sizes_only():
    states = [{b"home/f": ("a" * 64, 1)}, {b"home/f": ("b" * 32, 1)}, {b"home/f": ("c" * 32, 1)}]
    snaps = [Snap(f"s{n}") for n in range(len(states))]
    entries_of = lambda s, match: [Entry(p, size, d) for p, (d, size) in states[int(s.id[1:])].items()]
    assert [(v.snapshot, v.change) for v in log(snaps, entries_of, exact_matcher("f"))] == [("s2", "changed"),
                                                                                            ("s0", "added")]
