"""`benchmarks/run --quick`: every row measured, and the rows measure the same work.

The quick run is executed once for the module (about 10–25 s: a few hundred files, real rsync,
real travelsync processes, and the peers when they are installed).
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, need_programs, need_root

pytestmark = pytest.mark.integration

STEPS = ("full", "unchanged", "prepare", "changed", "finalize")
TITLES = ("full backup", "incremental, nothing changed", "prepare (restore full)",
          "incremental after 1 % change", "finalize (restore latest)")
PEERS = {"rsnapshot": "rsnapshot", "borg": "borg", "restic": "restic"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    need_programs("rsync")  # skipped on a laptop without it, a failure under CI=true
    out = tmp_path_factory.mktemp("bench") / "results"
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "run"), "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, json.loads((out / "results.json").read_text()), out


def table_rows(stdout: str, header_start: str) -> list[list[str]]:
    """The body rows of the markdown table whose header begins with `header_start`."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_step_has_a_row_with_positive_times_and_ratios(quick_run):
    need_programs("rsync")
    stdout, results, _ = quick_run
    rows = table_rows(stdout, "| step | travelsync (s) | rsync (s) | ÷ rsync |")
    assert [row[0] for row in rows[:len(TITLES)]] == list(TITLES)
    for row in rows[:len(TITLES)]:
        assert float(row[1]) > 0 and float(row[2]) > 0 and float(row[3]) > 0, row
    for step in STEPS:
        for name in ("travelsync", "rsync"):
            assert results["steps"][step][name]["median_seconds"] > 0
        ratio = results["ratios"][step]["rsync"]
        assert isinstance(ratio, (int, float)) and ratio > 0
        # one round: the ratio is travelsync's time over rsync's, both stored rounded to 1 ms
        ours = results["steps"][step]["travelsync"]["seconds"][0]
        theirs = results["steps"][step]["rsync"]["seconds"][0]
        low, high = (ours - 0.0005) / (theirs + 0.0005), (ours + 0.0005) / max(theirs - 0.0005, 1e-9)
        assert low - 0.001 <= ratio <= high + 0.001, (ratio, ours, theirs)


def test_travelsync_and_bare_rsync_transferred_the_same_files(quick_run):
    _, results, _ = quick_run
    files, change = results["dataset"]["files"], results["dataset"]["change"]
    assert change["modified"] > 0 and change["added"] > 0 and change["deleted"] > 0, change
    expected = {"full": files, "unchanged": 0, "prepare": files, "changed": change["modified"] + change["added"],
                "finalize": change["modified"] + change["added"]}
    for step, count in expected.items():
        assert results["steps"][step]["travelsync"]["files_transferred"] == [count], step
        assert results["steps"][step]["rsync"]["files_transferred"] == [count], step


def test_peers_are_measured_or_said_to_be_skipped(quick_run):
    stdout, results, _ = quick_run
    for peer, program in PEERS.items():
        facts = results["tools"][peer]
        if shutil.which(program):
            assert results["steps"]["full"][peer]["median_seconds"] > 0
            assert results["ratios"]["full"][peer] > 0
            if peer != "rsnapshot":  # rsnapshot has no restore command
                assert results["ratios"]["finalize"][peer] > 0
        else:
            assert facts["skipped"] == f"{program} is not installed"
            assert f"- {peer}: skipped ({program} is not installed)." in stdout


def test_memory_startup_and_targets_are_reported(quick_run):
    stdout, results, _ = quick_run
    assert [row["files"] for row in results["memory"]] == [500, 2000]
    assert all(10 < row["peak_rss_mib"] < 500 for row in results["memory"])  # a Python process, not rsync's 0
    startup = results["startup"]
    assert 0 < startup["python_ms"] < startup["travelsync_help_ms"]
    assert "| travelsync --help |" in stdout
    names = [row["target"] for row in results["targets"]]
    assert "full: travelsync / bare rsync" in names and "start-up over bare Python (ms)" in names
    assert "finalize / prepare (travelsync)" in names
    assert all(isinstance(row["met"], bool) for row in results["targets"])


def test_the_restores_behind_a_link_move_the_same_files_and_leave_nothing_behind(quick_run):
    """--quick measures prepare and finalize again with the laptop behind a 1 gbit link over ssh
    (benchmarks/link.py): travelsync and bare rsync move what they moved locally."""
    need_root()
    need_programs("ip", "tc", "/usr/sbin/sshd", "ssh")
    stdout, results, _ = quick_run
    assert results["links"]["rates"] == ["1gbit"] and results["links"]["skipped"] is None
    rows = table_rows(stdout, "| step | travelsync (s) | rsync (s) | ÷ rsync |")
    assert [row[0] for row in rows[len(TITLES):]] == [
        "prepare (restore full), laptop behind 1gbit", "finalize (restore latest), laptop behind 1gbit"]
    for step in ("prepare", "finalize"):
        for name in ("travelsync", "rsync"):
            assert (results["steps"][f"{step}@1gbit"][name]["files_transferred"]
                    == results["steps"][step][name]["files_transferred"]), (step, name)
        assert results["ratios"][f"{step}@1gbit"]["rsync"] > 0
    names = [row["target"] for row in results["targets"]]
    assert "finalize / prepare (travelsync, laptop behind 1gbit)" in names
    assert "finalize, laptop behind 1gbit: travelsync / bare rsync" in names
    (namespace,) = results["links"]["namespaces"]
    leftover = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    veth = namespace.replace("tslink-", "tsl") + "h"
    assert namespace not in leftover and subprocess.run(["ip", "link", "show", veth], capture_output=True).returncode


def test_preflight_ran_in_a_private_namespace(quick_run):
    need_root()
    need_programs("ip")
    _, results, _ = quick_run
    preflight = results["preflight"]
    assert set(preflight["seconds"]) == {"total", "portal", "ipv6", "tunnel", "nat64", "mail"}
    assert set(preflight["statuses"]) == {"portal", "ipv6", "tunnel", "nat64", "mail"}
    # The checks run at once: the whole run is well under the sum of the checks run alone.
    assert preflight["seconds"]["total"] < preflight["sum_of_checks"]
    leftover = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "tsbench-" not in leftover and not any(Path("/etc/netns").glob("tsbench-*"))


def test_chart_is_a_png(quick_run):
    _, results, out = quick_run
    data = (out / "chart.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert data[12:16] == b"IHDR" and width > 100 and height > 100
    if results["chart"]["drawn_by"] == "built-in":  # the pixels decompress to the declared size
        start = data.index(b"IDAT") + 4
        length = struct.unpack(">I", data[start - 8:start - 4])[0]
        assert len(zlib.decompress(data[start:start + length])) == height * (1 + width * 3)


def test_bad_arguments_exit_2():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "run"), "--rounds", "0"],
                            capture_output=True, text=True, timeout=30, env={**os.environ})
    assert result.returncode == 2 and "--rounds" in result.stderr


def test_the_row_without_rsyncs_symlink_walk_does_the_same_work_as_travelsync(quick_run):
    """travelsync's runs skip rsync's symlink-race walk in the benchmark's private folder; the
    bare-rsync row told to skip it too moves the same files (the wrapper's own cost is measured)."""
    from travelsync.rsync.trusted_paths import rsync_has_option

    _, results, _ = quick_run
    if not rsync_has_option("rsync"):
        assert results["tools"]["rsync-insecure-links"]["skipped"]
        return
    assert results["tools"]["travelsync"]["skips_symlink_walk"] == "yes"
    for step in STEPS:
        assert (results["steps"][step]["rsync-insecure-links"]["files_transferred"]
                == results["steps"][step]["travelsync"]["files_transferred"]), step
        assert results["ratios"][step]["rsync-insecure-links"] > 0


def test_the_durable_rsync_row_backs_up_the_same_files_and_is_a_target(quick_run):
    """rsync+sync-f: bare rsync's backups followed by `sync -f` (the durability travelsync's
    syncfs gives a snapshot), against which the full backup's target is measured."""
    stdout, results, _ = quick_run
    for step in ("full", "unchanged", "changed"):
        assert (results["steps"][step]["rsync+sync-f"]["files_transferred"]
                == results["steps"][step]["rsync"]["files_transferred"]), step
        assert results["ratios"][step]["rsync+sync-f"] > 0
    assert "rsync+sync-f" not in results["steps"]["prepare"]  # restores need no such step
    (row,) = [r for r in results["targets"] if r["target"] == "full: travelsync / bare rsync then `sync -f`"]
    assert row["value"] == results["ratios"]["full"]["rsync+sync-f"] and isinstance(row["met"], bool)
    assert "| full: travelsync / bare rsync then `sync -f`" in stdout


def test_tools_selects_the_contenders_and_names_the_rest(tmp_path):
    out = tmp_path / "results"
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "run"), "--quick", "--links", "",
                             "--memory-scales", "", "--tools", "travelsync,rsync+sync-f", "--out", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert set(results["steps"]["full"]) == {"travelsync", "rsync+sync-f"}
    assert results["tools"]["borg"]["skipped"] == "not selected (--tools)"
    refused = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "run"), "--tools", "rsync,rsyncc"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "rsyncc" in refused.stderr


def test_the_durability_benchmark_times_travelsyncs_syncfs_and_rsyncs_sync(tmp_path):
    """benchmarks/durability.py: the syncfs inside travelsync's full backup (strace -T) against
    bare rsync's `sync -f`, on a small tree."""
    need_programs("rsync", "strace")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "durability.py"), "--files", "200",
                             "--size", "2000000", "--rounds", "2", "--work", str(tmp_path / "work")],
                            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    import re

    rounds = re.findall(r"^round \d: travelsync +([\d.]+) s \(syncfs +([\d.]+) s\) +rsync +([\d.]+) s \+ sync -f +"
                        r"([\d.]+) s", result.stdout, re.M)
    assert len(rounds) == 2, result.stdout
    for whole, inside, bare, synced in rounds:
        assert float(whole) > float(inside) >= 0 and float(bare) > 0
    assert "medians of 2: travelsync's syncfs" in result.stdout and "bare rsync's sync -f" in result.stdout
