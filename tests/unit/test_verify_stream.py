"""verify streams: joined with the manifest in one order, the report equals the dictionary
comparison it replaced, whether the hashes come in rsync's order (the live join) or not
(spooled and sorted afterwards); the manifest in any order too."""

import zstandard
from hypothesis import given, strategies as st

from travelsync.history import ordered
from travelsync.history.ordered import path_key
from travelsync.verify.check import compare
from travelsync.verify.manifest import HEADER, Entry, format_line

names = st.sampled_from([b"a", b"a.d", b"a b", b"b", b"\xff", b"t\tab", b"n\nl", b"x\\y"])
paths = st.lists(names, min_size=1, max_size=4).map(lambda parts: b"/".join([b"home", *parts]))


def valid(found):
    chosen = []
    for path in found:
        if not any(path == o or path.startswith(o + b"/") or o.startswith(path + b"/") for o in chosen):
            chosen.append(path)
    return chosen


class Progress:
    def __init__(self):
        self.seen = []

    def __call__(self, progress):
        self.seen.append(progress)


@given(st.lists(paths, max_size=30), st.lists(paths, max_size=30), st.randoms(use_true_random=False),
       st.booleans(), st.booleans(), st.sampled_from([2, 1000]))
def test_the_streamed_report_equals_a_dictionary_comparison(listed, found, rng, shuffle_hashes, shuffle_manifest,
                                                            chunk):
    listed = valid(listed)
    found = valid(found + rng.sample(listed, len(listed) // 2))
    manifest = {p: ("%032x" % rng.randrange(3), rng.randrange(100)) for p in listed}
    now = {p: manifest[p][0] if p in manifest and rng.random() < 0.7 else "%032x" % rng.randrange(3) for p in found}
    lines = [format_line(Entry(p, manifest[p][1], manifest[p][0])) for p in sorted(listed, key=path_key)]
    if shuffle_manifest:
        rng.shuffle(lines)
    data = zstandard.ZstdCompressor().compress(HEADER + b"".join(lines))
    hashes = sorted(now.items(), key=lambda pair: path_key(pair[0]))
    if shuffle_hashes:
        rng.shuffle(hashes)
    original, ordered.CHUNK = ordered.CHUNK, chunk
    progress = Progress()
    try:
        report = compare("S", data, hashes, on_progress=progress)
    finally:
        ordered.CHUNK = original
    assert report.checked == len(now)
    assert report.missing == sorted(set(manifest) - set(now))
    assert report.extra == sorted(set(now) - set(manifest))
    assert report.corrupted == sorted(p for p in set(now) & set(manifest) if now[p] != manifest[p][0])
    assert len(progress.seen) == len(now)
    if not shuffle_hashes and now:
        assert progress.seen[-1].bytes == sum(manifest[p][1] for p in set(now) & set(manifest))
