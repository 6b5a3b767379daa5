"""find, log and diff with the real rsync over replayed weeks (TRAVELSYNC_NOW): each answer
equals a brute-force comparison of the snapshot trees themselves. Every other snapshot's
manifest is rewritten with its lines shuffled (readers must not depend on the order, see
verify/manifest.py), so diff's external sort runs too (in runs of 5 lines, merged)."""

import hashlib
import os
import random
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests.conftest import need_programs
from tests.integration.test_backup_engine import remote_rig  # noqa: F401 (fixture)
from travelsync.history import ordered

pytestmark = pytest.mark.timeout(600)
DAYS = int(os.environ.get("TRAVELSYNC_HISTORY_DAYS", "10"))
START = datetime(2026, 11, 1, 2, 30, tzinfo=timezone.utc)  # a Sunday
NAMES = [b"a", b"a.d", b"a b", b"b.txt", b"c.txt", b"t\tab.txt", b"new\nline.txt", b"x\\y.txt", b"bad\xff.txt", b"A.pdf"]


def tree(root: bytes) -> dict[bytes, tuple[int, str]]:
    """Brute force: every regular file under a snapshot's data/ → (size, sha256)."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, root)] = (os.path.getsize(path), hashlib.sha256(handle.read()).hexdigest())
    return found


def show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def evolve(rng: random.Random, sources: list[bytes]) -> None:
    """A day of work: files added, rewritten (same size or not), removed."""
    existing = sorted(os.path.join(folder, name) for source in sources for folder, _d, names in os.walk(source)
                      for name in names)
    for _ in range(rng.randint(4, 9)):
        if existing and rng.random() < 0.5:
            name = existing.pop(rng.randrange(len(existing)))
            if rng.random() < 0.3:
                os.unlink(name)
                continue
            with open(name, "rb") as handle:
                old = handle.read()
            new = bytes(b ^ 1 for b in old) if rng.random() < 0.5 else old + b"more"  # same size, or not
            with open(name, "wb") as handle:
                handle.write(new)
            continue
        source = rng.choice(sources)
        folder = os.path.join(source, *(rng.choice(NAMES[:3]) for _ in range(rng.randint(0, 2))))
        parts = os.path.relpath(folder, source).split(b"/")
        if any(os.path.isfile(os.path.join(source, *parts[:n])) for n in range(1, len(parts) + 1)):
            continue  # a file stands where the folder would go
        os.makedirs(folder, exist_ok=True)
        name = os.path.join(folder, rng.choice(NAMES))
        if not os.path.isdir(name):
            with open(name, "wb") as handle:
                handle.write(rng.choice([b"x", b"y", b"xy", b"hello\n" * rng.randint(1, 50)]))


def shuffle_manifest(path, rng: random.Random) -> None:
    import zstandard

    header, *lines = zstandard.ZstdDecompressor().stream_reader(path.read_bytes(), read_across_frames=True) \
        .read().splitlines(keepends=True)
    rng.shuffle(lines)
    path.write_bytes(zstandard.ZstdCompressor().compress(header + b"".join(lines)))


@pytest.fixture
def replayed(cli, tmp_path, isolated_dirs, monkeypatch):
    need_programs("rsync")
    monkeypatch.setattr(ordered, "CHUNK", 5)
    rng = random.Random(17)
    home, other = tmp_path / "home", tmp_path / "aaa"
    home.mkdir()
    other.mkdir()
    config = tmp_path / "config.yaml"
    repo = tmp_path / "repo"
    config.write_text(yaml.safe_dump({
        "repository": str(repo), "schedule": {"timezone": "UTC"}, "rsync": {"retries": 0},
        "sources": [{"name": "home", "path": str(home)}, {"name": "aaa", "path": str(other)}]}))
    snapshots = []
    for day in range(DAYS):
        evolve(rng, [os.fsencode(home), os.fsencode(other)])
        when = {"TRAVELSYNC_NOW": (START + timedelta(days=day)).isoformat()}
        done = cli("--config", config, "--json", "backup", env=when)
        assert done.exit_code == 0, done.stderr
        if not done.json["no_change"]:
            snapshots.append(done.json["snapshot"])
    for snapshot in snapshots[1::2]:
        shuffle_manifest(repo / "snapshots" / snapshot / "manifest.tsv.zst", rng)
    trees = {s: {show(p): v for p, v in tree(os.fsencode(repo / "snapshots" / s / "data")).items()} for s in snapshots}
    return cli, config, snapshots, trees


def test_diff_of_every_pair_equals_comparing_the_trees(replayed):
    cli, config, snapshots, trees = replayed
    assert len(snapshots) >= 5
    pairs = list(zip(snapshots, snapshots[1:])) + [(snapshots[0], snapshots[-1]), (snapshots[-1], snapshots[0])]
    for a, b in pairs:
        result = cli("--config", config, "--json", "diff", a, b)
        assert result.exit_code == 0, result.stderr
        old, new = trees[a], trees[b]
        assert sorted(d["path"] for d in result.json["added"]) == sorted(new.keys() - old.keys())
        assert sorted(d["path"] for d in result.json["removed"]) == sorted(old.keys() - new.keys())
        assert sorted(d["path"] for d in result.json["changed"]) == sorted(
            p for p in old.keys() & new.keys() if old[p] != new[p])
        totals = result.json["totals"]
        assert totals["unchanged"] == sum(1 for p in old.keys() & new.keys() if old[p] == new[p])
        assert totals["added_bytes"] == sum(new[p][0] for p in new.keys() - old.keys())
        assert totals["removed_bytes"] == sum(old[p][0] for p in old.keys() - new.keys())
        for change in result.json["changed"]:
            assert ("size" in change["what"]) == (old[change["path"]][0] != new[change["path"]][0])
        limited = cli("--config", config, "--json", "diff", a, b, "--path", "home/a").json
        assert {d["path"] for d in limited["added"]} == {p for p in new.keys() - old.keys()
                                                         if p == "home/a" or p.startswith("home/a/")}


def test_diff_takes_the_time_forms_of_restore_from(replayed):
    cli, config, snapshots, trees = replayed
    now = {"TRAVELSYNC_NOW": (START + timedelta(days=DAYS - 1, hours=12)).isoformat()}
    by_date = cli("--config", config, "--json", "diff", START.date().isoformat(), "latest", env=now).json
    assert (by_date["from"], by_date["to"]) == (snapshots[0], snapshots[-1])
    aged = cli("--config", config, "--json", "diff", f"{DAYS}d", "yesterday", env=now)
    assert aged.exit_code == 2 and "no snapshot is" in aged.stderr  # nothing that old: refused, not guessed
    human = cli("--config", config, "diff", snapshots[0], snapshots[-1])
    assert human.exit_code == 0 and human.stdout.splitlines()[-1].startswith(f"{snapshots[0]} → {snapshots[-1]}: added")


def test_find_and_log_equal_walking_every_snapshot(replayed):
    cli, config, snapshots, trees = replayed
    found = cli("--config", config, "--json", "find", "*.txt")
    assert found.exit_code == 0, found.stderr
    expected, previous = [], {}
    for snapshot in snapshots:
        here = {p: v for p, v in trees[snapshot].items() if p.endswith(".txt")}
        for path, value in here.items():
            change = "new" if path not in previous else "same" if previous[path] == value else "changed"
            expected.append((snapshot, path, value[0], change))
        previous = here
    assert sorted((f["snapshot"], f["path"], f["size"], f["change"]) for f in found.json) == sorted(expected)
    window = cli("--config", config, "--json", "find", "*.txt", "--from", snapshots[1], "--until", snapshots[2]).json
    assert {f["snapshot"] for f in window} <= {snapshots[1], snapshots[2]}
    every = {p for t in trees.values() for p in t}
    for path in sorted(every)[:6]:
        versions = cli("--config", config, "--json", "log", path).json
        expected, before = [], None
        for snapshot in snapshots:
            now = trees[snapshot].get(path)
            if now != before:
                expected.append((snapshot, "removed" if now is None else "added" if before is None else "changed"))
            before = now
        assert [(v["snapshot"], v["change"]) for v in versions] == expected[::-1]
    exact = cli("--config", config, "--json", "find", "--path", sorted(every)[0]).json
    assert {f["snapshot"] for f in exact} == {s for s in snapshots if sorted(every)[0] in trees[s]}


def test_over_ssh_the_manifests_answer_as_the_trees_do(cli, remote_rig):
    """The same commands on a repository over ssh (a real sshd on 127.0.0.1): the manifests
    are streamed with `cat` (diff reads each twice), never copied whole."""
    rig = remote_rig
    (rig.source / "keep.txt").write_text("same\n")
    (rig.source / "edit.txt").write_text("before\n")
    (rig.source / "gone.txt").write_text("gone\n")
    first = cli("--config", rig.config, "--json", "backup", "--full").json["snapshot"]
    (rig.source / "edit.txt").write_text("after, longer\n")
    (rig.source / "gone.txt").unlink()
    (rig.source / "new.txt").write_text("new\n")
    second = cli("--config", rig.config, "--json", "backup", "--incremental").json["snapshot"]
    trees = {s: {show(p): v for p, v in tree(os.fsencode(rig.repo / "snapshots" / s / "data")).items()}
             for s in (first, second)}
    diffed = cli("--config", rig.config, "--json", "diff", first, second)
    assert diffed.exit_code == 0, diffed.stderr
    assert [d["path"] for d in diffed.json["added"]] == sorted(trees[second].keys() - trees[first].keys())
    assert [d["path"] for d in diffed.json["removed"]] == sorted(trees[first].keys() - trees[second].keys())
    assert [(d["path"], d["what"]) for d in diffed.json["changed"]] == [("home/edit.txt", ["content", "size"])]
    found = cli("--config", rig.config, "--json", "find", "*.txt").json
    assert sorted((f["snapshot"], f["path"]) for f in found) == sorted(
        (s, p) for s in (first, second) for p in trees[s] if p.endswith(".txt"))
    versions = cli("--config", rig.config, "--json", "log", "home/gone.txt").json
    assert [(v["snapshot"], v["change"]) for v in versions] == [(second, "removed"), (first, "added")]
