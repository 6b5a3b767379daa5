"""`offsite restore` from an encrypted copy: the snapshot decrypted (gocryptfs forward,
read-only), the chosen paths copied into a private temporary repository of format 1, and
restored from there by restore/runner.py unchanged (its displacement, its checks)."""

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from travelsync.errors import TravelsyncError, UsageError
from travelsync.location import Location
from travelsync.repository import layout


def restore_encrypted(config, copy, target, choice, paths, to, stamp, dry_run, environ, notice=None):
    from travelsync import clock
    from travelsync.offsite import encrypted
    from travelsync.repository import Repository
    from travelsync.repository.local_store import LocalStore
    from travelsync.restore import selection
    from travelsync.restore.runner import plan_restore, read_choice, resolve_snapshot, run_restore

    target.check_format()
    snapshot = resolve_snapshot(target, read_choice(target, choice))
    groups = selection.select(paths, config)  # bad paths refused before the password is asked
    keys = encrypted.Keys.for_reading(copy, target, environ)
    folder = Path(tempfile.mkdtemp(prefix="travelsync-offsite-restore-"))  # 0700
    try:
        with target.reading(snapshot.id), encrypted.plaintext(config, copy, target, keys, snapshot.id) as plain:
            inner = folder / layout.SNAPSHOTS / snapshot.id
            (inner / layout.DATA).mkdir(parents=True)
            shutil.copyfile(plain / layout.SNAPSHOT_FILE, inner / layout.SNAPSHOT_FILE)
            _copy_out(config, plain, inner, groups)
        (folder / layout.REPO_FILE).write_text(layout.repo_file_text(clock.now(environ), "offsite"))
        (folder / layout.PARTIAL).mkdir()
        here = replace(config, repository=Location(str(folder)))
        local = Repository(LocalStore(here.repository), environ)
        local.store.rsync_settings = config.rsync
        plan = plan_restore(here, local, None, paths, to=to, stamp=stamp, dry_run=dry_run, snapshot_id=snapshot.id)
        if notice:
            notice(f"restoring {', '.join(plan.paths)} from {copy.name}'s {snapshot.id} (decrypted) to {plan.target}")
        return run_restore(here, local, plan)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_out(config, plain: Path, inner: Path, groups) -> None:
    """rsync -aH --relative of each selected path from the plaintext view into the temporary
    snapshot (only what is restored is decrypted and copied)."""
    from travelsync.rsync.run import run_rsync

    sources = []
    for group in groups:
        for inside in group.insides:
            rel = f"{layout.DATA}/{group.source_name}/{inside}".rstrip("/").removesuffix("/.")
            if not (plain / rel).exists() and not (plain / rel).is_symlink():
                raise UsageError(f"not in snapshot: {group.source_name}/{inside}".rstrip("/."),
                                 hint="paths are <source name>/<path inside that source>")
            sources.append(f"{plain}/./{rel}")
    argv = [config.rsync.program, "-aH", "--numeric-ids", "-s", "--relative", "--", *sources, f"{inner}/"]
    result = run_rsync(argv)
    if result.exit_code != 0:
        raise TravelsyncError(f"cannot copy out of the decrypted snapshot: {result.error_summary()}")
