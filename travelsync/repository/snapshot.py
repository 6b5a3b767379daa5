"""What `snapshot.json` holds, as SnapshotInfo (pure conversion both ways)."""

import json
from dataclasses import dataclass, field
from datetime import datetime

FORMAT = 1
KINDS = ("full", "incremental")
STATUSES = ("complete", "incomplete")


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
    # Whether data/ holds any ACL or extended attribute (backup/attributes.py); None: not
    # looked (a remote repository, a dry run, a snapshot from before the look). Only False
    # lets a restore leave out rsync's -A/-X.
    extended_attributes: bool | None = field(default=None, compare=False)

    @property
    def seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    def to_json(self) -> dict:
        return {"format": FORMAT, "id": self.id, "kind": self.kind, "parent": self.parent,
                "started": self.started.isoformat(), "finished": self.finished.isoformat(),
                "status": self.status, "files": self.files, "bytes": self.bytes,
                "warnings": list(self.warnings), "sources": list(self.sources), "rsync": dict(self.rsync),
                "failed_files": list(self.failed_files), "extended_attributes": self.extended_attributes}

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
        rsync=dict(document.get("rsync", {})), failed_files=tuple(document.get("failed_files", ())),
        extended_attributes=_flag(document.get("extended_attributes")))


def _flag(value) -> bool | None:
    """A recorded yes/no; anything else (absent, damaged) is "not known"."""
    return value if isinstance(value, bool) else None


class DamagedSnapshot(ValueError):
    """A snapshot folder whose snapshot.json is missing, unreadable or damaged; the message
    says which ("is missing", "is damaged (not valid JSON: …)")."""


def read_snapshot(name: str, document: bytes | None, unreadable: str | None = None) -> SnapshotInfo:
    """The SnapshotInfo of snapshot folder `name` from its snapshot.json bytes (None: absent).

    Raise DamagedSnapshot unless the document is a format-1 record of this very folder: a
    snapshot travelsync cannot fully trust is never listed, linked to or restored from."""
    if unreadable is not None:
        raise DamagedSnapshot(f"cannot be read ({unreadable})")
    if document is None:
        raise DamagedSnapshot("is missing")
    try:
        parsed = json.loads(document)
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedSnapshot(f"is damaged (not valid JSON: {error})") from None
    if not isinstance(parsed, dict):
        raise DamagedSnapshot(f"is damaged (a JSON {type(parsed).__name__}, not an object)")
    version = parsed.get("format", FORMAT)
    if isinstance(version, int) and version > FORMAT:
        raise DamagedSnapshot(f"is of format {version}, newer than this travelsync understands")
    from travelsync.statefiles.snapshot import problem

    wrong = problem(parsed)
    if wrong is not None:
        raise DamagedSnapshot(f"is damaged (field {wrong[0]}: {wrong[1]})")
    try:
        info = from_json(parsed)
    except KeyError as error:
        raise DamagedSnapshot(f"is damaged (no {error.args[0]!r})") from None
    except (ValueError, TypeError, AttributeError) as error:
        raise DamagedSnapshot(f"is damaged ({error})") from None
    if info.id != name:
        raise DamagedSnapshot(f"is damaged (it names snapshot {info.id!r}, not its folder)")
    if info.kind not in KINDS or info.status not in STATUSES:
        raise DamagedSnapshot(f"is damaged (kind {info.kind!r}, status {info.status!r})")
    if info.started.tzinfo is None or info.finished.tzinfo is None:
        raise DamagedSnapshot("is damaged (times without a UTC offset)")
    return info
