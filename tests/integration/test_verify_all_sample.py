"""`verify --all` and `verify --sample N%` with the real rsync, local and over ssh."""

import os

import pytest
import zstandard

from tests.integration.test_backup_engine import backup, rig, run  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(180)


def test_all_checks_every_snapshot_and_sample_finds_what_it_draws(cli, rig):
    for number in range(120):
        (rig.source / f"f{number:03d}").write_bytes(b"%d" % number * 50)
    first = backup(cli, rig, "--full")["snapshot"]
    (rig.source / "new").write_bytes(b"new file")
    second = backup(cli, rig, "--incremental")["snapshot"]
    (rig.data(first) / "intruder").write_bytes(b"not backed up")  # appeared in the first only
    (rig.data(second) / "new").write_bytes(b"NEW FILE")  # its own inode: the second only
    every = run(cli, rig, "--json", "verify", "--all")
    assert every.exit_code == 1
    assert [r["snapshot"] for r in every.json["snapshots"]] == [first, second] and not every.json["ok"]
    one, two = every.json["snapshots"]
    assert (one["extra"], one["corrupted"], one["missing"]) == (["home/intruder"], [], [])
    assert (two["extra"], two["corrupted"], two["missing"]) == ([], ["home/new"], [])
    whole = run(cli, rig, "--json", "verify", "--sample", "100%", second)
    assert whole.exit_code == 1 and whole.json["corrupted"] == ["home/new"]
    assert whole.json["sample"] == {"percent": 100.0, "chosen": 121, "of": 121} and whole.json["checked"] == 121
    (rig.data(second) / "f007").unlink()
    for _ in range(3):
        part = run(cli, rig, "--json", "verify", "--sample", "30", second).json
        assert part["checked"] + len(part["missing"]) == part["sample"]["chosen"] and part["extra"] == []
        assert 10 < part["sample"]["chosen"] < 70
    human = run(cli, rig, "verify", "--all", "--sample", "50%")
    assert human.exit_code in (0, 1) and "% sample of 120)" in human.stdout  # the draw decides and "% sample of 121)" in human.stdout


def test_sample_refuses_bad_percentages_and_version_1_manifests(cli, rig):
    (rig.source / "a").write_bytes(b"a")
    snapshot = backup(cli, rig, "--full")["snapshot"]
    for wrong in ("0", "101%", "ten"):
        assert run(cli, rig, "verify", "--sample", wrong).exit_code == 2
    manifest = rig.repo / "snapshots" / snapshot / "manifest.tsv.zst"
    manifest.write_bytes(zstandard.ZstdCompressor().compress(
        b"# travelsync manifest 1\tpath\tsize\tmtime_ns\tsha256\nhome/a\t1\t0\t" + b"0" * 64 + b"\n"))
    refused = run(cli, rig, "verify", "--sample", "50%", snapshot)
    assert refused.exit_code == 2 and "--sample needs a version-2 manifest" in refused.stderr
    assert os.path.exists(manifest)


def test_all_goes_on_past_a_snapshot_it_cannot_check_and_keeps_every_report(cli, rig):
    """One damaged manifest in the middle used to end `verify --all` with that error alone:
    the reports of the snapshots already checked were lost, the later ones never checked."""
    ids = []
    for number in range(3):
        (rig.source / f"f{number}").write_bytes(b"x" * (number + 1))
        ids.append(backup(cli, rig, "--full" if number == 0 else "--incremental")["snapshot"])
    manifest = rig.repo / "snapshots" / ids[1] / "manifest.tsv.zst"
    os.chmod(manifest, 0o644)
    manifest.write_bytes(b"this is no zstd frame at all")
    every = run(cli, rig, "--json", "verify", "--all")
    assert every.exit_code == 1, every.stderr
    reports = every.json["snapshots"] if "snapshots" in every.json else pytest.fail(every.stdout + every.stderr)
    assert [r["snapshot"] for r in reports] == ids and not every.json["ok"]
    assert reports[0]["ok"] and reports[2]["ok"] and reports[0]["checked"] == 1 and reports[2]["checked"] == 3
    assert not reports[1]["ok"] and reports[1]["error"] and reports[1]["error"] in every.stderr
    alone = run(cli, rig, "verify", ids[1])
    assert alone.exit_code == 1 and "manifest damaged" in alone.stderr and ids[1] in alone.stderr, alone.stderr
    assert "internal error" not in alone.stderr
    history = run(cli, rig, "log", "home/f0")  # the history commands read the same manifests
    assert "internal error" not in history.stderr and "manifest damaged" in history.stderr, history.stderr
