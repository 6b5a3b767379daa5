"""trip.json, version 1: its schema and its one load function.

What a resumed step acts on comes from here: `in_progress.stamp` names the displaced folder
a restore writes into and tidies, `in_progress.snapshot` and `paths` pick what rsync copies,
`return`'s stamp names the `.laptop-<stamp>` copies written at home.  Each is checked for
its shape (a UTC stamp, a snapshot id, a relative path), so an edited or damaged file is
refused (exit 2, naming the field) before anything is written or deleted.
"""

from typing import Literal, NotRequired, TypedDict

from travelsync.atomic import read_json
from travelsync.statefiles.schema import (JSON, Count, DamagedStateFile, IsoTime, Seconds, SnapshotId, Stamp,
                                          RelativePath, check)

VERSION = 1
State = Literal["idle", "prepared", "finalized", "returned"]
Step = Literal["prepare", "finalize", "return"]
HINT = "move the file away to start over (the laptop and mail files are untouched)"


class RestoreRecord(TypedDict):
    """A restore's report (restore/report.py), kept to resume and to show.  The lists of
    file names are only shown: any name a file system allows is fine there."""

    snapshot: SnapshotId
    target: str
    warnings: list[str]
    paths: NotRequired[list[RelativePath]]
    files_transferred: NotRequired[Count]
    bytes_transferred: NotRequired[Count]
    seconds: NotRequired[Seconds]
    dry_run: NotRequired[bool]
    total_size: NotRequired[Count]
    deleted: NotRequired[Count]
    displaced_folder: NotRequired[str | None]
    displaced: NotRequired[list[str]]
    changes: NotRequired[list[str]]
    change_count: NotRequired[Count]
    method: NotRequired[str]  # whole | delta (restore/delta.py): shown only


class Conflict(TypedDict):
    path: str
    laptop_copy: str


class SyncBackRecord(TypedDict):
    """`return --sync-back`'s report (trip/sync_back.py): shown, never acted on again."""

    basis: SnapshotId | None
    copy: list[str]
    conflicts: list[Conflict]
    deleted_on_laptop: list[str]
    applied: bool
    deleted_count: NotRequired[Count]
    already_home: NotRequired[list[str]]  # Maildir messages home had already (trip/maildir.py)
    already_home_count: NotRequired[Count]
    files_transferred: NotRequired[Count]
    bytes_transferred: NotRequired[Count]
    seconds: NotRequired[Seconds]


class PreflightCheck(TypedDict):
    name: str
    status: str  # ok | warn | fail | skip (preflight/model.py): shown only
    summary: str
    details: NotRequired[JSON]
    fix: NotRequired[JSON]
    data: NotRequired[JSON]


class Stages(TypedDict, total=False):
    restore: RestoreRecord
    mail: JSON  # the mail reports: shown, never acted on
    sync_back: SyncBackRecord


class InProgress(TypedDict):
    step: Step
    started: IsoTime
    stages: Stages
    stamp: Stamp
    snapshot: NotRequired[SnapshotId]
    paths: NotRequired[list[RelativePath]]


class PrepareRecord(TypedDict):
    """What prepare did.  Later steps read `at`, `snapshot` and `paths`; the rest is shown
    (and may be absent from a file an older travelsync wrote)."""

    at: IsoTime
    snapshot: SnapshotId
    paths: list[RelativePath]
    stamp: NotRequired[Stamp]
    target: NotRequired[str]
    restore: NotRequired[RestoreRecord]
    mail: NotRequired[JSON]
    preflight: NotRequired[list[PreflightCheck]]


class FinalizeRecord(PrepareRecord):
    files_transferred: NotRequired[Count]
    bytes_transferred: NotRequired[Count]
    seconds: NotRequired[Seconds]


class ReturnRecord(TypedDict):
    at: IsoTime
    sync_back: NotRequired[SyncBackRecord | None]
    mail: NotRequired[JSON]
    warnings: NotRequired[list[str]]
    released_snapshots: NotRequired[list[SnapshotId]]


class HistoryEntry(TypedDict):
    step: Step
    at: IsoTime
    state: State


TripDocument = TypedDict("TripDocument", {
    "version": Literal[1],
    "state": State,
    "in_progress": InProgress | None,
    "protected_snapshots": list[SnapshotId],
    "history": list[HistoryEntry],
    "prepare": NotRequired[PrepareRecord],
    "finalize": NotRequired[FinalizeRecord],
    "return": NotRequired[ReturnRecord],
})

# What each step's resume reads from in_progress besides the stamp.
RESUME_NEEDS = {"prepare": ("snapshot", "paths"), "finalize": ("snapshot",), "return": ()}


def empty() -> dict:
    return {"version": VERSION, "state": "idle", "in_progress": None, "protected_snapshots": [], "history": []}


def migrate(document: dict) -> dict:
    """Older files: before `version` was written every key was optional (version 1 without it)."""
    if isinstance(document, dict) and "version" not in document:
        return {**empty(), **document}
    return document


def validate(document, path) -> dict:
    """The trip document when every field matches the schema; raise DamagedStateFile otherwise."""
    if isinstance(document, dict) and isinstance(document.get("version"), int) and document["version"] > VERSION:
        raise DamagedStateFile(path, "version", f"is {document['version']}, newer than this travelsync "
                               f"understands ({VERSION})", hint="use the travelsync that wrote it")
    document = check(migrate(document), TripDocument, path, hint=HINT)
    running = document["in_progress"]
    if running is not None:
        for key in RESUME_NEEDS[running["step"]]:
            if key not in running:
                raise DamagedStateFile(path, f"in_progress.{key}", f"is missing (a {running['step']} resumes with it)",
                                       hint=HINT)
    return document


def load(path) -> dict:
    """trip.json at `path` (an idle document when there is none), every field checked.

    Raise DamagedStateFile (exit 2) naming the file and the field, before anything acts on it."""
    try:
        document = read_json(path, default=None)
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedStateFile(path, "", f"damaged trip state (not JSON: {error})", hint=HINT) from None
    if document is None:
        return empty()
    return validate(document, path)
