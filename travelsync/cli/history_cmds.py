"""`find`, `log`, `diff`: a repository's history from its manifests (travelsync.history)."""

import click

from travelsync.errors import UsageError
from travelsync.exitcodes import ExitStatus

EXIT_HELP = ("\b\nExit codes: 0 done (also when nothing matched or nothing differs); 1 failure (a\n"
             "manifest that cannot be read); 2 usage or configuration error (no such snapshot,\n"
             "a time with no snapshot); 3 done with warnings (a snapshot without a manifest was\n"
             "skipped); 75 repository unreachable (try again later).")
WHEN = ("latest, last-full, an id, yesterday, a date (2026-11-30: the newest snapshot of that day, in "
        "schedule.timezone), a date-time (the newest started by then) or an age (3d, 12h, 1w)")


class _Manifests:
    """The repository, its snapshots in the order taken, and their manifests as streams."""

    def __init__(self, app):
        from travelsync.repository import open_repository
        from travelsync.schedule.slots import zone_for

        self.app, self.zone = app, zone_for(app.config.schedule)
        self.repository = open_repository(app.config, app.environ)
        self.repository.check_format()
        self.skipped: list[str] = []

    def resolve(self, text: str):
        from travelsync.restore.runner import resolve_snapshot

        return resolve_snapshot(self.repository, text, self.zone)

    def between(self, start: str | None, until: str | None) -> list:
        """The snapshots from `start` to `until` (both included, in the order taken)."""
        snapshots = self.repository.snapshots()
        ids = [s.id for s in snapshots]
        first = ids.index(self.resolve(start).id) if start else 0
        last = ids.index(self.resolve(until).id) if until else len(ids) - 1
        if first > last:
            raise UsageError(f"--from {start} ({ids[first]}) was taken after --until {until} ({ids[last]})",
                             hint="give the older one as --from")
        return snapshots[first:last + 1]

    def opener(self, snapshot_id: str):
        from travelsync.repository import layout

        rel = f"{layout.SNAPSHOTS}/{snapshot_id}/{layout.MANIFEST_FILE}"
        return lambda: self.repository.store.open_for_reading(rel)

    def require(self, snapshot_id: str) -> None:
        """TravelsyncError (1) when the snapshot has no manifest."""
        handle = self.opener(snapshot_id)()
        if handle is None:
            from travelsync.errors import TravelsyncError

            raise TravelsyncError(f"snapshot {snapshot_id} has no manifest; nothing to compare")
        handle.close()

    def entries_of(self, snapshot, match):
        """The snapshot's manifest Entries that `match`, streamed once (an open file stays
        readable even if a prune removes it meanwhile); None, with a warning, when it has no
        manifest."""
        from travelsync.history.search import matching
        from travelsync.verify.manifest import Manifest

        handle = self.opener(snapshot.id)()
        if handle is None:
            self.skipped.append(snapshot.id)
            self.app.warn(f"snapshot {snapshot.id} has no manifest; skipped")
            return None

        def stream():
            try:
                yield from matching(Manifest(handle), match)
            finally:
                handle.close()

        return stream()

    def status(self) -> ExitStatus:
        return ExitStatus.WARNINGS if self.skipped else ExitStatus.SUCCESS


def _human_size(size: int) -> str:
    from travelsync.rsync.progress import human_bytes

    return human_bytes(size)


def _when(started, zone) -> str:
    return started.astimezone(zone).isoformat(timespec="minutes")


@click.command("find", epilog=EXIT_HELP)
@click.argument("pattern", required=False)
@click.option("--path", "exact", metavar="P", help="An exact path instead of a PATTERN.")
@click.option("--from", "start", metavar="WHEN", help=f"The first snapshot searched: {WHEN}. Default: the oldest.")
@click.option("--until", metavar="WHEN", help="The last snapshot searched (same forms). Default: the latest.")
@click.pass_obj
def find(app, pattern, exact, start, until):
    """Every snapshot that holds a file matching PATTERN, with its size, whether its contents
    changed since the previous snapshot searched, and the snapshot's time.

    PATTERN is a shell glob (`*` also matches `/`, so `*.pdf` finds PDFs in every folder)
    matched against the path inside its source (`Mail/inbox`) or the path with the source
    name (`home/Mail/inbox`); quote it. --path P matches that path exactly instead.
    Only regular files are listed (what the checksum manifests hold). The manifests are
    read, never the snapshot trees: a search over a year of snapshots of a million files
    reads a year of manifests, in flat memory.

    \b
    Output: SNAPSHOT  STARTED  CHANGE  SIZE  PATH, where CHANGE is new, changed or same.
    With --json: a list of {snapshot, started, path, size, checksum, change}."""
    from travelsync.history.search import exact_matcher, find as search, glob_matcher

    if (pattern is None) == (exact is None):
        raise UsageError("give a PATTERN or --path P (one of them)", hint="travelsync find '*.pdf'")
    manifests = _Manifests(app)
    match = exact_matcher(exact) if exact is not None else glob_matcher(pattern)
    found = list(search(manifests.between(start, until), manifests.entries_of, match))

    def human(items):
        if not items:
            return "no snapshot holds a matching file"
        return "\n".join(f"{s.snapshot}  {_when(s.started, manifests.zone)}  {s.change:<7}  "
                         f"{_human_size(s.size):>10}  {s.to_json()['path']}" for s in items)

    app.emit([s.to_json() for s in found] if app.json else found, human)
    return manifests.status()


@click.command("log", epilog=EXIT_HELP)
@click.argument("path")
@click.pass_obj
def log(app, path):
    """The versions of one file, newest first: the snapshot where it appeared, changed
    (contents or size) or disappeared, when, and its size.

    PATH is <source name>/<path inside it> (`home/notes/todo.txt`) or the path inside a
    source (`notes/todo.txt`). Read from the manifests, never the snapshot trees.

    \b
    Output: SNAPSHOT  STARTED  CHANGE  SIZE  PATH (CHANGE: added, changed, removed).
    With --json: a list of {snapshot, started, path, change, size, checksum}."""
    from travelsync.history.search import exact_matcher, log as versions_of

    manifests = _Manifests(app)
    versions = versions_of(manifests.between(None, None), manifests.entries_of, exact_matcher(path))

    def human(items):
        if not items:
            return f"no snapshot holds {path}"
        return "\n".join(f"{v.snapshot}  {_when(v.started, manifests.zone)}  {v.change:<7}  "
                         f"{'' if v.change == 'removed' else _human_size(v.size):>10}  {v.to_json()['path']}"
                         for v in items)

    app.emit([v.to_json() for v in versions] if app.json else versions, human)
    return manifests.status()


@click.command("diff", epilog=EXIT_HELP)
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--path", "prefix", metavar="P", help="Only P (<source name>/<path>) and what lies below it.")
@click.pass_obj
def diff(app, before, after, prefix):
    """What changed from snapshot A to snapshot B: files added, removed and changed
    (contents, size), with counts and bytes. A and B are ids or the forms of
    `restore --from`: latest, last-full, yesterday, a date, a date-time, an age (3d).

    The two manifests are merged as they stream, in one order (a manifest written in
    another order is sorted through temporary files first): memory does not grow with the
    number of files. The manifests hold regular files with size and checksum: folders,
    symlinks, owners and modes are not compared. Against a version-1 manifest (sha256) a
    version-2 one (xxh128) compares by size only; the output says so.

    \b
    Output: `+ path (size)`, `- path (size)`, `M path (old size → new size; content, size)`,
    then a summary line. With --json: {from, to, added: [{path, size}], removed: [{path,
    size}], changed: [{path, size_before, size, what}], totals, contents_compared}."""
    from travelsync.history.diff import Totals, differences
    from travelsync.history.ordered import OrderedManifest

    manifests = _Manifests(app)
    repository = manifests.repository
    old, new = manifests.resolve(before), manifests.resolve(after)
    wanted = prefix.strip("/").encode() if prefix else None
    totals = Totals()
    listed = {"added": [], "removed": [], "changed": []}
    with repository.reading(old.id), repository.reading(new.id), \
            OrderedManifest(manifests.opener(old.id)) as first, OrderedManifest(manifests.opener(new.id)) as second:
        for snapshot in (old, new):
            manifests.require(snapshot.id)
        first_entries, second_entries = iter(first), iter(second)
        # the algorithms are known once each stream has started
        head_a, head_b = next(first_entries, None), next(second_entries, None)
        same = first.algorithm == second.algorithm
        stream = differences(_chain(head_a, first_entries), _chain(head_b, second_entries), same_algorithm=same,
                             prefix=wanted, totals=totals)
        for change in stream:
            if app.json:
                listed[change.kind].append(_difference_json(change))
            elif not app.quiet:
                print(_difference_line(change), file=app.stdout)
    data = {"from": old.id, "to": new.id, **listed, "totals": totals.to_json(), "contents_compared": same}

    def human(d):
        t = d["totals"]
        note = "" if same else " (sizes only: the manifests use different checksums)"
        return (f"{old.id} → {new.id}: added {t['added']} ({_human_size(t['added_bytes'])}), removed "
                f"{t['removed']} ({_human_size(t['removed_bytes'])}), changed {t['changed']} "
                f"({_human_size(t['changed_bytes_before'])} → {_human_size(t['changed_bytes_after'])}), "
                f"unchanged {t['unchanged']}{note}")

    app.emit(data, human)
    return ExitStatus.SUCCESS


def _chain(head, rest):
    if head is not None:
        yield head
        yield from rest


def _difference_json(change) -> dict:
    from travelsync.history.search import show

    if change.kind == "added":
        return {"path": show(change.path), "size": change.after.size}
    if change.kind == "removed":
        return {"path": show(change.path), "size": change.before.size}
    return {"path": show(change.path), "size_before": change.before.size, "size": change.after.size,
            "what": list(change.what)}


def _difference_line(change) -> str:
    from travelsync.history.search import show

    if change.kind == "added":
        return f"+ {show(change.path)} ({_human_size(change.after.size)})"
    if change.kind == "removed":
        return f"- {show(change.path)} ({_human_size(change.before.size)})"
    return (f"M {show(change.path)} ({_human_size(change.before.size)} → {_human_size(change.after.size)}; "
            f"{', '.join(change.what)})")
