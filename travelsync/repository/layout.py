"""Repository format 1 (design §3): names, snapshot ids and the `travelsync.repo` file (pure).

    REPO/travelsync.repo     format: 1, created, source_host (YAML)
    REPO/lock                flock(2) target; "pid host command started" of the holder inside
    REPO/snapshots/<id>/     data/<source>/…, snapshot.json (written last), manifest.tsv.zst
    REPO/partial/<id>/       being written; never listed; reused by the next run (resume)
    REPO/latest              symlink -> snapshots/<id>, swapped by rename
    REPO/runs.json           travelsync's addition: incrementals that found nothing changed
    REPO/readers/<id>        travelsync's addition: shared flock(2) of a command reading snapshot <id>

Only `latest` is a symlink: a link at any other of these names is refused (never_links).
"""

import re
from datetime import datetime, timedelta, timezone

from travelsync.clock import utc_stamp
from travelsync.errors import TravelsyncError

FORMAT = 1
REPO_FILE = "travelsync.repo"
LOCK_FILE = "lock"
SNAPSHOTS = "snapshots"
PARTIAL = "partial"
LATEST = "latest"
READERS = "readers"
RUNS_FILE = "runs.json"
SNAPSHOT_FILE = "snapshot.json"
MANIFEST_FILE = "manifest.tsv.zst"
CHANGES_FILE = "changes.zst"  # the change list against the parent (repository/change_list.py)
DATA = "data"
DELETING_SUFFIX = ".deleting"  # partial/<id>.deleting: renamed away by prune, removed outside the lock

KIND_SUFFIX = {"full": "full", "incremental": "incr"}
_ID = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<kind>full|incr)(?:\.(?P<n>\d+))?$")


def snapshot_id(started: datetime, kind: str, taken: set[str] = frozenset()) -> str:
    """`20261122T023000Z-full`, after every id in `taken` (the repository's snapshot folders):
    `.2`, `.3`… on the second of the newest one, whatever its kind; a clock behind the newest
    takes the second after it. Ids are thus the order in which the snapshots were taken, which
    listing, `latest`, `last-full` and retention follow; `started` in snapshot.json keeps the
    clock's own reading."""
    newest = max((order_key(name) for name in taken if is_snapshot_id(name)), default=None)
    stamp = utc_stamp(started)
    if newest is not None and stamp < newest[0]:
        stamp = utc_stamp(datetime.strptime(newest[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                          + timedelta(seconds=1))
    counter = newest[1] + 1 if newest is not None and stamp == newest[0] else 1
    return f"{stamp}-{KIND_SUFFIX[kind]}" + (f".{counter}" if counter > 1 else "")


def order_key(snapshot_id_text: str) -> tuple[str, int]:
    """A snapshot's place in the order the snapshots were taken: its id's second, then its
    counter (`.10` after `.9`). Not a clock reading: see snapshot_id."""
    match = _ID.match(snapshot_id_text)
    return match.group("stamp"), int(match.group("n") or 1)


def is_snapshot_id(name: str) -> bool:
    return _ID.match(name) is not None


def kind_of(snapshot_id_text: str) -> str | None:
    match = _ID.match(snapshot_id_text)
    if not match:
        return None
    return "full" if match.group("kind") == "full" else "incremental"


# Names that are never symlinks in a repository: travelsync writes into them, renames them,
# opens them as locks, or hands them to rsync as a destination or a restore's source, and must
# not be led elsewhere. `latest` is the one link; it is only ever read as a name (readlink).
TOP_NAMES = (SNAPSHOTS, PARTIAL, READERS, LOCK_FILE, RUNS_FILE, REPO_FILE)
INNER_NAMES = (DATA, SNAPSHOT_FILE, MANIFEST_FILE, CHANGES_FILE)


def never_links(snapshot_entries, partial_entries, reader_entries=()) -> list[str]:
    """The paths (relative to REPO) that must not be symlinks, given the entries of snapshots/,
    partial/ and readers/: the top names, every entry of those folders and the names inside
    each snapshot (finished or partial)."""
    trees = [f"{SNAPSHOTS}/{name}" for name in snapshot_entries] + [f"{PARTIAL}/{name}" for name in partial_entries]
    return (list(TOP_NAMES) + trees + [f"{READERS}/{name}" for name in reader_entries]
            + [f"{tree}/{name}" for tree in trees for name in INNER_NAMES])


def source_folders(tree: str, names) -> list[str]:
    """`<tree>/data/<source>` for each name in a snapshot's data/: never symlinks either (rsync
    writes into them, a restore reads them)."""
    return [f"{tree}/{DATA}/{name}" for name in names]


def repo_file_text(created: datetime, source_host: str) -> str:
    return (f"# travelsync repository: see docs/backup.md\nformat: {FORMAT}\n"
            f"created: {created.isoformat()}\nsource_host: {source_host}\n")


def check_repo_file(text: str, where: str) -> dict:
    """Parse `travelsync.repo`; raise TravelsyncError for a format this version cannot read."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TravelsyncError(f"{where}/{REPO_FILE}: not valid YAML ({error.__class__.__name__})")
    if not isinstance(document, dict) or not isinstance(document.get("format"), int):
        raise TravelsyncError(f"{where}/{REPO_FILE}: no `format:` number; not a travelsync repository?")
    if document["format"] > FORMAT:
        raise TravelsyncError(
            f"{where}: repository format {document['format']} is newer than this travelsync understands "
            f"(format {FORMAT})", hint="upgrade travelsync on this machine")
    return document
