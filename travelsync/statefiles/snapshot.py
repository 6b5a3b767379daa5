"""snapshot.json's fields (format 1): the schema read_snapshot (repository/snapshot.py) checks.

A snapshot whose file does not match is damaged: never listed, linked to, restored from or
deleted, and named with its path and the field (Repository.problems).  Keys this version does
not know are left alone (a newer travelsync may add some); the ones it reads must be whole.
"""

from typing import Any, Literal, NotRequired, TypedDict

from travelsync.statefiles.schema import Count, IsoTime, Name, SnapshotId, problem_of

SnapshotDocument = TypedDict("SnapshotDocument", {
    "format": NotRequired[Literal[1]],
    "id": SnapshotId,
    "kind": Literal["full", "incremental"],
    "parent": NotRequired[SnapshotId | None],
    "started": IsoTime,
    "finished": IsoTime,
    "status": Literal["complete", "incomplete"],
    "files": NotRequired[Count],
    "bytes": NotRequired[Count],
    "warnings": NotRequired[list[str]],
    "sources": NotRequired[list[Name]],
    "rsync": NotRequired[dict[str, Any]],
    "failed_files": NotRequired[list[str]],
    "extended_attributes": NotRequired[bool | None],
})


def problem(document: dict) -> tuple[str, str] | None:
    """(field, what is wrong) for the first field read back that does not match, or None."""
    known = {key: value for key, value in document.items() if key in SnapshotDocument.__annotations__}
    return problem_of(known, SnapshotDocument)
