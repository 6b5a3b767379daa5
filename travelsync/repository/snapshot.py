"""What `snapshot.json` holds, as SnapshotInfo (pure conversion both ways)."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    kind: str  # "full" | "incremental"
    parent: str | None  # the snapshot an incremental links to
    started: datetime  # aware
    finished: datetime  # aware
    status: str  # "complete" | "incomplete" (rsync exit 23: some files could not be read)
    files: int  # entries in the snapshot (files, folders, links)
    bytes: int  # total size of its files
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    rsync: dict = field(default_factory=dict, compare=False)
    failed_files: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    def to_json(self) -> dict:
        return {"format": 1, "id": self.id, "kind": self.kind, "parent": self.parent,
                "started": self.started.isoformat(), "finished": self.finished.isoformat(),
                "status": self.status, "files": self.files, "bytes": self.bytes,
                "warnings": list(self.warnings), "sources": list(self.sources), "rsync": dict(self.rsync),
                "failed_files": list(self.failed_files)}

    def listing(self) -> dict:
        """The `snapshots --json` shape (design §2)."""
        return {"id": self.id, "kind": self.kind, "status": self.status, "started": self.started.isoformat(),
                "finished": self.finished.isoformat(), "files": self.files, "bytes": self.bytes,
                "parent": self.parent, "warnings": list(self.warnings)}


def from_json(document: dict) -> SnapshotInfo:
    """Raise KeyError/ValueError/TypeError on a damaged document (the caller names the file)."""
    return SnapshotInfo(
        id=document["id"], kind=document["kind"], parent=document.get("parent"),
        started=datetime.fromisoformat(document["started"]), finished=datetime.fromisoformat(document["finished"]),
        status=document["status"], files=int(document.get("files", 0)), bytes=int(document.get("bytes", 0)),
        warnings=tuple(document.get("warnings", ())), sources=tuple(document.get("sources", ())),
        rsync=dict(document.get("rsync", {})), failed_files=tuple(document.get("failed_files", ())))
