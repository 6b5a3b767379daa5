"""`prune`: apply the retention plan (repository/retention.py, pure) to a repository.

Under the writer lock each doomed snapshot is renamed away (partial/<id>.deleting), unless a
command is reading it (its reader lock, repository/lock.py): that one is kept and named, and
the next prune takes it. The slow removal runs after the lock is released, so a backup is
never held up by it.
"""

from dataclasses import dataclass, field
from datetime import timezone

from travelsync.history.sizes import freed_bytes
from travelsync.repository import layout
from travelsync.repository.retention import plan_retention

IN_USE = "in use: a restore, verify or trip step is reading it; the next prune deletes it"


@dataclass
class PruneResult:
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    in_use: list[str] = field(default_factory=list)
    partials_removed: list[str] = field(default_factory=list)
    freed_bytes: int | None = None  # disk space given back (history/sizes.py); None: du could not tell

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "deleted": self.deleted, "kept": self.kept, "reasons": self.reasons,
                "in_use": self.in_use, "partials_removed": self.partials_removed, "freed_bytes": self.freed_bytes}


def _plan(repository, retention, zone):
    return plan_retention(repository.snapshots(), retention, repository.protected_ids,
                          getattr(repository.latest(), "id", None), zone)


def prune(repository, retention, *, zone=timezone.utc, dry_run: bool = False, notice=None) -> PruneResult:
    """Delete what retention (config.model.Retention, or an int: that many fulls) lets go,
    and the partial snapshots of interrupted runs; days and months are those of `zone`.
    TemporaryError (75) when a backup or another prune holds the lock."""
    if dry_run:
        plan = _plan(repository, retention, zone)
        partials = repository.partials()
        freed = freed_bytes(repository, [s.id for s in repository.snapshots()],
                            {i: f"{layout.SNAPSHOTS}/{i}" for i in plan.delete},
                            [f"{layout.PARTIAL}/{name}" for name in partials])
        return PruneResult(True, list(plan.delete), list(plan.keep), dict(plan.reasons),
                           partials_removed=partials, freed_bytes=freed)
    result, retired = PruneResult(False), []
    with repository.lock("prune", notice):
        repository.overview(refresh=True)  # what is there now that we hold the lock
        order = [s.id for s in repository.snapshots()]
        plan = _plan(repository, retention, zone)
        result.reasons = dict(plan.reasons)
        for snapshot_id in plan.delete:
            target = repository.retire_unless_read(snapshot_id)
            if target is None:
                result.in_use.append(snapshot_id)
                result.reasons[snapshot_id] = IN_USE
            else:
                retired.append(target)
                result.deleted.append(snapshot_id)
        result.kept = [s for s in order if s in result.reasons]
        for name in repository.partials():
            if name.endswith(layout.DELETING_SUFFIX) and name.removesuffix(layout.DELETING_SUFFIX) in result.deleted:
                continue  # retired just now: already in `retired`
            result.partials_removed.append(name)
            if name.endswith(layout.DELETING_SUFFIX):
                retired.append(f"{layout.PARTIAL}/{name}")
            else:
                target = f"{layout.PARTIAL}/{name}{layout.DELETING_SUFFIX}"
                repository.store.rename(f"{layout.PARTIAL}/{name}", target)
                retired.append(target)
    # outside the lock: a backup may start meanwhile
    doomed = {i: f"{layout.PARTIAL}/{i}{layout.DELETING_SUFFIX}" for i in result.deleted}
    result.freed_bytes = freed_bytes(repository, order, doomed, [r for r in retired if r not in doomed.values()])
    for rel in retired:
        repository.remove(rel)
    return result
