"""`benchmarks/offsite.py` at its smallest: it runs to the end and reports both rows (plain and
encrypted), with ratios that are its own medians divided."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, need_programs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_the_offsite_benchmark_measures_both_rows(tmp_path):
    need_programs("rsync", "gocryptfs", "fusermount3")
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "offsite.py"), "--files", "60",
                           "--size", "1M", "--rounds", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=170, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| offsite sync")]
    assert [row.split("|")[1].strip() for row in rows] == ["offsite sync after a 1 % change, plain",
                                                           "offsite sync after a 1 % change, encrypted"]
    medians = json.loads((out / "offsite.json").read_text())["medians"]
    for kind in ("plain", "encrypted"):
        assert medians[kind]["travelsync"] > 0 and medians[kind]["bare"] > 0
        assert medians[kind]["ratio"] == pytest.approx(medians[kind]["travelsync"] / medians[kind]["bare"])
