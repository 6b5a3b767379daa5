"""The repository's runs.json (incrementals that found nothing changed): schema and reading.

`backup --if-due` and the scheduler decide from these runs whether a backup is due; a forged
or damaged record would make them skip backups (or run them again and again), so the file
is refused (exit 2, naming the field) rather than read in part.
"""

import json
from typing import Literal, NotRequired, TypedDict

from travelsync.statefiles.schema import DamagedStateFile, IsoTime, SnapshotId, check


class NoChangeRun(TypedDict):
    kind: Literal["full", "incremental"]
    started: IsoTime
    finished: IsoTime
    same_as: SnapshotId


RunsDocument = TypedDict("RunsDocument", {"version": NotRequired[Literal[1]], "no_change": list[NoChangeRun]})


def parse(text: bytes | None, path) -> list[dict]:
    """The no-change runs recorded in runs.json (`text`; None or empty: none yet), every field checked.

    Raise DamagedStateFile naming `path` and the field."""
    if not text:
        return []
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedStateFile(path, "", f"damaged (not JSON: {error})") from None
    return list(check(document, RunsDocument, path)["no_change"])
