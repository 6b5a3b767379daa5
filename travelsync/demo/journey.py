"""Run the journey in the sandbox with the real commands (`python -m travelsync`), clock moved
with TRAVELSYNC_NOW, and collect the timeline.

Each step is a real subprocess with the sandbox's configuration and state folders (and
HOME pointing into the sandbox), so the demo exercises exactly what a user runs and cannot
touch anything outside the sandbox.
"""

import filecmp
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from travelsync import process
from travelsync.demo import sandbox as sandbox_module

PATHS = ("Mail", "src", "notes", ".fetchmailrc")


def start_of_journey(now: datetime) -> datetime:
    """A Sunday 02:30 UTC about ten days before `now`, so every step lies in the past."""
    day = (now - timedelta(days=10)).astimezone(timezone.utc)
    sunday = day - timedelta(days=(day.weekday() + 1) % 7)
    return sunday.replace(hour=2, minute=30, second=0, microsecond=0)


class Journey:
    def __init__(self, box, start: datetime, info):
        self.box = box
        self.start = start
        self.info = info
        self.rows: list[dict] = []
        self.rng = random.Random(11)
        self.mail_number = 100000

    def env(self, when: datetime) -> dict:
        import os

        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.box.home),
                "LANG": "C.UTF-8", "TRAVELSYNC_CONFIG": str(self.box.config_file),
                "XDG_STATE_HOME": str(self.box.state), "XDG_CONFIG_HOME": str(self.box.root / "config"),
                "TRAVELSYNC_NOW": when.isoformat(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def at(self, days: float, hour: int = 2, minute: int = 30) -> datetime:
        day = self.start + timedelta(days=int(days))
        return day.replace(hour=hour, minute=minute)

    def run(self, when: datetime, label: str, *args: str) -> dict:
        """Run `travelsync --json ARGS` at the simulated instant; add a timeline row."""
        self.info(f"[{when:%a %d %b %H:%M}] travelsync {' '.join(args)}")
        started = time.monotonic()
        done = process.run([sys.executable, "-m", "travelsync", "--json", *args], env=self.env(when), timeout=600)
        wall = time.monotonic() - started
        try:
            data = json.loads(done.stdout.decode() or "null")
        except ValueError:
            data = None
        row = {"when": when.isoformat(), "step": label, "command": "travelsync " + " ".join(args),
               "exit": done.returncode, "wall_seconds": round(wall, 3)}
        if isinstance(data, dict):
            row.update({k: data.get(k) for k in ("snapshot", "files_transferred", "bytes_transferred", "seconds")})
            if isinstance(data.get("sync_back"), dict):
                row.update({k: data["sync_back"].get(k) for k in ("files_transferred", "bytes_transferred", "seconds")})
            row["warnings"] = data.get("warnings") or []
            row["data"] = data
        if done.returncode not in (0, 3):
            row["error"] = done.stderr.decode("utf-8", "replace").strip()
        self.rows.append(row)
        return row

    def event(self, when: datetime, text: str) -> None:
        self.info(f"[{when:%a %d %b %H:%M}] {text}")
        self.rows.append({"when": when.isoformat(), "step": "event", "command": text})

    # -- what happens at home between the commands
    def new_mail(self, count: int) -> None:
        for _ in range(count):
            self.mail_number += 1
            sandbox_module.write_mail(self.box.home / "Mail", self.rng, self.mail_number, 1800000000 + self.mail_number)

    def read_mail(self, count: int) -> None:
        """The mail client files new mail as read: new/NAME → cur/NAME:2,S."""
        for path in sorted((self.box.home / "Mail" / "new").iterdir())[:count]:
            path.rename(self.box.home / "Mail" / "cur" / f"{path.name}:2,S")

    def edit(self, path: Path, text: str) -> None:
        with path.open("a") as handle:
            handle.write(text)


def trees_equal(left: Path, right: Path) -> bool:
    """Same names and the same bytes in every file (recursively)."""
    if left.is_file() or right.is_file():
        return left.is_file() and right.is_file() and filecmp.cmp(left, right, shallow=False)
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(trees_equal(left / d, right / d) for d in compared.common_dirs)


def laptop_matches(box, snapshot: str) -> bool:
    data = box.repository / "snapshots" / snapshot / "data" / "home"
    return all(trees_equal(data / p, box.laptop_copy(p)) for p in PATHS)


def run_demo(*, keep: bool = False, files: int = 300, info=print, now: datetime | None = None,
             folder: Path | None = None) -> dict:
    """Build the sandbox, run the journey, return {ok, sandbox, timeline, checks}."""
    from travelsync import clock

    if shutil.which("rsync") is None:
        from travelsync.errors import TravelsyncError

        raise TravelsyncError("rsync is not installed", hint="install it: sudo apt-get install rsync")
    root = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="travelsync-demo-"))
    try:
        box = sandbox_module.build(root, files)
        journey = Journey(box, start_of_journey(now or clock.now()), info)
        checks = _journey(journey)
        ok = all(row["exit"] in (0, 3) for row in journey.rows if "exit" in row) and all(checks.values())
        return {"ok": ok, "sandbox": str(root) if keep else None, "files": files, "timeline": journey.rows,
                "checks": checks}
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _journey(j: Journey) -> dict:
    box = j.box
    checks = {}
    j.run(j.at(0), "full backup", "backup", "--full")
    for day in (1, 2):
        j.new_mail(4)
        j.read_mail(3)
        j.edit(box.home / "src" / "project0" / "module0.py", f"\n# day {day}: fixed a bug\n")
        j.event(j.at(day, 1, 0), "home: 4 new mails, 3 read, a code fix")
        j.run(j.at(day), "incremental", "backup", "--incremental")
    prepare = j.run(j.at(2, 18, 0), "prepare", "prepare", "--skip-preflight")
    checks["after prepare the laptop equals the last full"] = bool(prepare.get("snapshot")) and \
        laptop_matches(box, prepare["snapshot"])
    checks["home's fetchmail keeps mail on the server"] = "keep" in (box.home / ".fetchmailrc").read_text()
    j.new_mail(6)
    j.edit(box.home / "notes" / "note0.md", "\nPack the charger.\n")
    j.event(j.at(2, 22, 0), "home: 6 new mails, a note edited")
    j.run(j.at(3), "nightly incremental", "backup", "--incremental")
    finalize = j.run(j.at(3, 7, 0), "finalize", "finalize", "--skip-preflight")
    checks["after finalize the laptop equals the latest snapshot"] = bool(finalize.get("snapshot")) and \
        laptop_matches(box, finalize["snapshot"])
    changed = sum(row.get("bytes_transferred") or 0 for row in j.rows if row["step"] in ("incremental",
                                                                                    "nightly incremental"))
    checks["finalize sent only what changed since the full, not the tree"] = \
        0 < (finalize.get("bytes_transferred") or 0) <= changed * 1.1 + 4096 < (prepare.get("bytes_transferred") or 0)
    j.edit(box.laptop_copy("notes/note1.md"), "\nWritten on the train.\n")
    (box.laptop_copy("notes") / "trip-diary.md").write_text("# Trip diary\n\nDay one: arrived.\n")
    j.edit(box.home / "notes" / "note1.md", "\nEdited at home meanwhile.\n")
    j.event(j.at(5, 12, 0), "laptop: a note edited and a diary written; home edits the same note")
    returned = j.run(j.at(9, 20, 0), "return", "return", "--sync-back")
    checks["the diary came home"] = (box.home / "notes" / "trip-diary.md").is_file()
    checks["a note changed on both sides kept both copies"] = any(
        p.name.startswith("note1.md.laptop-") for p in (box.home / "notes").iterdir())
    checks["home's fetchmail is back to deleting"] = "keep" not in (box.home / ".fetchmailrc").read_text()
    checks["trip state is returned"] = returned.get("data", {}).get("state") == "returned"
    return checks
