"""Prove that the drills can fail: copy the project to a scratch folder, break it on purpose
there, and run the drill that must catch the break. Nothing in the real tree changes.

    .venv/bin/python tests/drills/break_build.py --list
    .venv/bin/python tests/drills/break_build.py commit-before-rsync-finishes [pytest args…]

Exit status: 0 when the drill FAILED on the broken copy (as it must), 1 when it passed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# name: (file, text to replace (must occur once), replacement, drill(s) that must fail, what the break is);
# several replacements in one file: a list of (old, new) pairs and None.
BREAKS = {
    "commit-before-rsync-finishes": (
        "travelsync/backup/engine.py",
        [("    partial = repository.partial_path(snapshot_id)\n",
          "    partial = repository.partial_path(snapshot_id)\n"
          "    repository.commit(SnapshotInfo(snapshot_id, chosen, parent.id if parent else None, started, started,\n"
          "                                   'complete', 0, 0, (), tuple(s.name for s in config.sources), {}, ()))\n"
          "    partial = f'{layout.SNAPSHOTS}/{snapshot_id}'  # BROKEN: committed, then rsync writes into it\n"),
         ("    repository.commit(info)\n",
          "    repository.store.write_atomic(f'{partial}/{layout.SNAPSHOT_FILE}', (json.dumps(info.to_json()) + '\\n').encode())\n"),
         ("import errno\n", "import errno\nimport json\n")],
        None,
        ["tests/drills/test_kill_drills.py::test_kill_backup[group]"],
        "the snapshot is committed (snapshot.json, rename, `latest`) before rsync runs"),
    "restore-without-displacing": (
        "travelsync/restore/arguments.py",
        '    argv += ["--backup", f"--backup-dir={backup_dir_for(displaced_folder, source_path)}"]\n',
        "    pass  # BROKEN: laptop files are overwritten and deleted, not moved aside\n",
        ["tests/drills/test_kill_drills.py::test_kill_restore"],
        "restore overwrites and deletes laptop files instead of moving them aside"),
    "write-mail-config-in-place": (
        "travelsync/atomic.py",
        "    target = Path(os.path.realpath(path))\n",
        "    target = Path(os.path.realpath(path))\n"
        "    if target.name == '.fetchmailrc':  # BROKEN: truncate, then write slowly, in place\n"
        "        import time\n"
        "        with open(target, 'wb') as handle:\n"
        "            handle.write(data[: len(data) // 2]); handle.flush(); time.sleep(0.5); handle.write(data[len(data) // 2:])\n"
        "        return target\n",
        ["tests/drills/test_kill_drills.py::test_kill_mailer[slowed-fetchmail-keep]",
         "tests/drills/test_concurrency_drill.py::test_prepare_and_scheduled_backup_at_once"],
        "the mail config is rewritten in place (truncate + write) instead of temp file + fsync + rename"),
    "no-space-not-recognised": (
        "travelsync/backup/outcome.py",
        "    if result.no_space:\n        return Outcome.NO_SPACE\n",
        "",
        ["tests/drills/test_outage_drills.py::test_repository_disk_full"],
        "a full disk is not told apart from other rsync failures"),
    "transport-failure-committed": (
        "travelsync/backup/outcome.py",
        "    if code in TRANSPORT_FAILURES:\n        return Outcome.TRANSPORT\n",
        "    if code in TRANSPORT_FAILURES:\n        return Outcome.VANISHED  # BROKEN: commit what arrived\n",
        ["tests/drills/test_outage_drills.py::test_ssh_connection_cut_mid_transfer[transport]"],
        "a cut connection is treated like a vanished file: the half-sent snapshot is committed"),
    "damaged-snapshot-json-unreported": (
        "travelsync/repository/repository.py",
        '                self.problems.append(f"{self.location}/snapshots/{name}/{layout.SNAPSHOT_FILE}: damaged ({error})")\n',
        "                pass  # BROKEN: a damaged snapshot.json is skipped silently\n",
        ["tests/drills/test_repository_drills.py::test_damaged_snapshot_json_listing[corrupted-latest]"],
        "a damaged snapshot.json is skipped without a warning"),
    "future-format-accepted": (
        "travelsync/repository/layout.py",
        "    if document[\"format\"] > FORMAT:\n",
        "    if document[\"format\"] > FORMAT + 1:  # BROKEN\n",
        ["tests/drills/test_repository_drills.py::test_future_repository_format_is_refused_and_nothing_written[snapshots]"],
        "format 2 is taken for format 1"),
    "snapshot-ids-not-unique": (
        "travelsync/repository/layout.py",
        "    counter = newest[1] + 1 if newest is not None and stamp == newest[0] else 1\n",
        "    counter = 1  # BROKEN: an id already taken is used again\n",
        ["tests/drills/test_repository_drills.py::test_clock_moving_backwards"],
        "a second run in the same second (or the clock set back onto an old id) reuses a taken id"),
    "nothing-durable-before-commit": (
        "travelsync/repository/local_store.py",
        "            sync_file_system(self.root / partial)\n",
        "            pass  # BROKEN: the data and manifest are not made durable before the commit\n",
        ["tests/drills/test_power_cut_drill.py"],
        "no syncfs before snapshot.json and the rename: a power cut leaves a committed snapshot of empty files"),
}


def scratch_copy() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="travelsync-broken-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".git")
    for name in ("travelsync", "tests", "config", "scripts", "docs"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    for name in ("pyproject.toml",):
        shutil.copy(ROOT / name, folder / name)
    return folder


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "--list"):
        for name, (file, *_rest, what) in BREAKS.items():
            print(f"{name:34} {file}: {what}")
        return 0
    name, pytest_args = argv[0], argv[1:]
    file, old, new, drills, what = BREAKS[name]
    folder = scratch_copy()
    try:
        path = folder / file
        text = path.read_text()
        for before, after in (old if isinstance(old, list) else [(old, new)]):
            assert text.count(before) == 1, f"{file}: {before!r} is not there exactly once (the code moved?)"
            text = text.replace(before, after)
        path.write_text(text)
        print(f"broken copy in {folder}: {file}: {what}", flush=True)
        env = {**os.environ, "PYTHONPATH": str(folder)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--basetemp={folder}/.pytest-tmp", "--runxfail", *pytest_args, *drills]
        print("$ " + " ".join(command[1:]), flush=True)
        done = subprocess.run(command, cwd=folder, env=env)
        print(f"drill {'FAILED on the broken build, as it must' if done.returncode else 'PASSED: it does not catch this break'}")
        return 0 if done.returncode else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
