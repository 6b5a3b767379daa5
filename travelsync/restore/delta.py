"""A delta restore: the laptop holds snapshot A (the trip state says so), so only what
changed from A to B is sent, named by the change lists of the snapshots after A up to B
(repository/change_list.py), merged in one pass, and given to rsync with `--files-from`.

A path of the union that B holds is copied (a folder without its contents: what inside it
changed is listed on its own); a path B lacks is deleted on the laptop
(`--delete-missing-args`), its files moved aside into the displaced folder like any
restore's. A path beneath a folder that was deleted or replaced later is left out (rsync
would call it vanished: its folder is deleted or replaced whole).

Falls back to the whole tree (the caller says why) when a list is missing, damaged, or
`scope: whole`, or when the chain from B does not reach A.
"""

import heapq
import os
import tempfile
from dataclasses import dataclass

from travelsync.repository import change_list, layout

MAX_CHAIN = 1000  # snapshots between the laptop's and the one restored; a longer chain: whole tree


class NoDelta(Exception):
    """Why the whole tree is restored instead (one line, for the report's notes)."""


@dataclass(frozen=True)
class Delta:
    basis: str  # the snapshot the laptop holds
    lists: tuple[str, ...]  # per group of the plan: a local file of NUL-separated paths ("" = nothing)
    entries: int  # paths named, all groups together

    def remove(self) -> None:
        for path in self.lists:
            if path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass


def chain(repository, basis: str, snapshot_id: str) -> list:
    """The SnapshotInfos after `basis` up to `snapshot_id`, oldest first, by each one's
    parent. NoDelta when `basis` is not an ancestor within MAX_CHAIN steps, or a snapshot on
    the way is gone (pruned) or damaged."""
    from travelsync.errors import TravelsyncError

    found, current = [], snapshot_id
    while current != basis:
        if len(found) >= MAX_CHAIN:
            raise NoDelta(f"{basis} is more than {MAX_CHAIN} snapshots before {snapshot_id}")
        try:
            info = repository.get(current)
        except TravelsyncError as error:  # UsageError: gone; TravelsyncError: damaged
            raise NoDelta(f"snapshot {current} (between {basis} and {snapshot_id}) cannot be read "
                          f"({error.message})") from None
        found.append(info)
        if info.parent is None:
            raise NoDelta(f"{basis} is not an ancestor of {snapshot_id} ({current} has no parent)")
        current = info.parent
    return list(reversed(found))


def _records(repository, info, handles):
    """The records of one snapshot's change list; NoDelta when it cannot be used. A remote
    repository's list is copied here first: one ssh session at a time (sshd allows ten on a
    connection), not one held open per snapshot of the chain."""
    handle = repository.store.open_for_reading(f"{layout.SNAPSHOTS}/{info.id}/{change_list.FILE_NAME}")
    if handle is None:
        raise NoDelta(f"snapshot {info.id} has no change list")
    if repository.location.is_remote:
        with handle:
            local = tempfile.TemporaryFile(prefix="travelsync-changes-")
            while chunk := handle.read(1 << 20):
                local.write(chunk)
        local.seek(0)
        handle = local
    handles.append(handle)
    try:
        reader = change_list.Reader(handle)
    except change_list.Damaged as damaged:
        raise NoDelta(f"the change list of {info.id} is damaged ({damaged})") from None
    if reader.scope != change_list.LIST:
        raise NoDelta(f"{info.id} ({info.kind}) records no change list against {info.parent or 'a parent'}")
    if reader.parent != info.parent:
        raise NoDelta(f"the change list of {info.id} is against {reader.parent}, not its parent {info.parent}")
    return reader


def union(readers):
    """(path, tag) for each path named by any reader, in component order, with the newest
    reader's tag (readers oldest first). A record older than a newer A, C or D record of a
    folder above it is left out: that folder was deleted, or replaced by a file or a link (or
    made anew: then what it holds now is listed with it). Streams: one record of each list,
    and the folders above the current path, in memory."""
    def keyed(index, reader):
        try:
            for tag, path in reader:
                yield change_list.component_key(path), -index, tag, path
        except change_list.Damaged as damaged:
            raise NoDelta(f"a change list is damaged ({damaged})") from None

    last = None
    above = []  # (folder prefix, newest index of a cutting record at or above it)
    for _key, order, tag, path in heapq.merge(*(keyed(i, r) for i, r in enumerate(readers))):
        if path == last:
            continue  # an older record of the same path
        last = path
        while above and not path.startswith(above[-1][0]):
            above.pop()
        index = -order
        if above and above[-1][1] > index:
            continue  # beneath a folder gone or replaced after this record
        if tag != change_list.FOLDER:
            above.append((path + b"/", max(index, above[-1][1] if above else -1)))
        yield path, tag


def delta_plan(repository, basis: str, snapshot_id: str, groups) -> Delta:
    """The union of the change lists from `basis` to `snapshot_id`, split into one
    --files-from list per group (paths relative to the group's source folder, only those in
    its selected paths). NoDelta when it cannot be known."""
    infos = chain(repository, basis, snapshot_id)
    handles, files, lists, entries = [], [], [], 0
    try:
        readers = [_records(repository, info, handles) for info in infos]
        for group in groups:
            handle = tempfile.NamedTemporaryFile(prefix="travelsync-delta-", delete=False)
            files.append(handle)
            lists.append(handle.name)
        selections = [(index, group.source_name.encode() + b"/",
                       [os.fsencode(str(inside)) for inside in group.insides]) for index, group in enumerate(groups)]
        for path, _tag in union(readers):
            for index, prefix, insides in selections:
                if not path.startswith(prefix):
                    continue
                relative = path[len(prefix):]
                if any(inside == b"." or relative == inside or relative.startswith(inside + b"/")
                       for inside in insides):
                    files[index].write(relative + b"\0")
                    entries += 1
        for handle in files:
            handle.close()
        return Delta(basis, tuple(name if os.path.getsize(name) else "" for name in lists), entries)
    except BaseException:
        for handle in files:
            handle.close()
        Delta(basis, tuple(lists), 0).remove()
        raise
    finally:
        for handle in handles:
            handle.close()


def add_rsync_leftovers(delta: Delta, plan, ssh) -> int:
    """After a crash: rsync's temporary files (`.NAME.XXXXXX`) beside the files a killed
    delta was writing, added to the lists as paths to delete (B lacks them): they are moved
    aside and tidied like a whole-tree restore's (restore/displaced.py). Returns how many."""
    from travelsync.restore.displaced import RSYNC_TEMPORARY

    added = 0
    for group, name in zip(plan.groups, delta.lists):
        if not name:
            continue
        folders = {os.path.dirname(path) or b"." for path in _paths(name)}
        found = {}
        for path in _temporary_names(group.laptop_folder(plan.target), sorted(folders), ssh):
            match = RSYNC_TEMPORARY.match(os.fsdecode(os.path.basename(path)))
            if match:
                found[os.path.join(os.path.dirname(path), os.fsencode(match.group("name")))] = path
        leftovers = sorted({found[path] for path in _paths(name) if path in found})  # a file being written
        if leftovers:
            with open(name, "ab") as handle:
                handle.write(b"".join(path + b"\0" for path in leftovers))
            added += len(leftovers)
    return added


def make_displaced_folders(delta: Delta, plan, ssh) -> None:
    """Make, in the displaced folder, the folder of every listed path before rsync runs:
    rsync's generator (moving deleted files aside) and its receiver (moving overwritten ones
    aside) otherwise race to make the same folder and fail now and then ("make_backup …
    File exists"), which a whole-tree restore avoids with --delete-before. What stays empty
    is removed by the tidy that follows (restore/displaced.py)."""
    from travelsync.restore.arguments import backup_dir_for

    for group, name in zip(plan.groups, delta.lists):
        if not name:
            continue
        folders = sorted({os.path.dirname(path) for path in _paths(name)} - {b""})
        base = backup_dir_for(plan.displaced_folder, group.source_path)
        if not plan.target.is_remote:
            for folder in [b""] + folders:
                os.makedirs(os.path.join(os.fsencode(base), folder), mode=0o700, exist_ok=True)
            continue
        from travelsync.location import Location, remote_shell_command
        from travelsync.restore.places import _ssh

        place = Location(base, plan.target.host, plan.target.user)
        script = (f"umask 077 && mkdir -p -- {remote_shell_command(base)} && cd {remote_shell_command(base)} && "
                  "xargs -0 -r mkdir -p --")
        done = _ssh(place, ssh, script, input=b"".join(b"./" + f + b"\0" for f in folders))
        if not done.ok:
            from travelsync.errors import TravelsyncError

            raise TravelsyncError(f"{place}: cannot make the displaced folders ({done.error_line()})")


def _paths(name: str):
    """The paths of a --files-from list, streamed."""
    pending = b""
    with open(name, "rb") as handle:
        while chunk := handle.read(1 << 16):
            records = (pending + chunk).split(b"\0")
            pending = records.pop()
            yield from (record for record in records if record)


def _temporary_names(folder, folders, ssh) -> list[bytes]:
    """Entries named like rsync's temporaries (`.?*.??????`) in `folders` (relative, bytes)
    of the laptop folder (a Location), relative to it."""
    if not folder.is_remote:
        found = []
        for relative in folders:
            try:
                names = os.listdir(os.path.join(os.fsencode(folder.path), relative))
            except OSError:
                continue
            found += [os.path.normpath(os.path.join(relative, n)) for n in names
                      if n.startswith(b".") and len(n) > 8 and n[-7:-6] == b"."]
        return found
    from travelsync.location import remote_shell_command
    from travelsync.restore.places import _ssh

    script = (remote_shell_command("cd", folder.path) + " 2>/dev/null || exit 0; "
              "xargs -0 -r sh -c 'find \"$@\" -mindepth 1 -maxdepth 1 -name \".?*.??????\" -printf \"%p\\0\"' find")
    done = _ssh(folder, ssh, script, input=b"".join(b"./" + f + b"\0" for f in folders))
    return [os.path.normpath(entry[2:] if entry.startswith(b"./") else entry)
            for entry in done.stdout.split(b"\0") if entry]


def argv_for(common: list[str], *, files_from: str, data_spec: str, destination_spec: str, displaced_folder: str,
             source_path, dry_run: bool = False, extra=()) -> list[str]:
    """rsync's argv restoring the paths in `files_from` (NUL-separated, relative to the
    source folder `data_spec`) into `destination_spec`; what B lacks is deleted there, what
    is overwritten or deleted moved aside (--backup-dir) as by every restore."""
    from travelsync.restore.arguments import backup_dir_for

    argv = list(common)
    if not any(a in ("-s", "--protect-args", "--secluded-args") for a in argv):
        argv.append("--protect-args")
    # --force: a laptop folder where B has a file (or a link) is replaced; its files moved aside
    argv += [f"--files-from={files_from}", "--from0", "--delete-missing-args", "--force", "--mkpath",
             "--backup", f"--backup-dir={backup_dir_for(displaced_folder, source_path)}"]
    if dry_run:
        argv.append("--dry-run")
    argv += list(extra)
    argv += ["--", data_spec.rstrip("/") + "/", destination_spec.rstrip("/") + "/"]
    return argv


def narrowed(repository, document: dict, plan, paths, *, full: bool = False):
    """(plan, note): the plan restricted to the changes since the snapshot the trip state
    says the laptop holds, or the plan as it is (the whole tree) and a note saying why."""
    from dataclasses import replace

    if full:
        return plan, "the whole tree was compared (--full)"
    basis, why = basis_of(document, paths, str(plan.target))
    try:
        if basis is None:
            raise NoDelta(why)
        found = delta_plan(repository, basis, plan.snapshot_id, plan.groups)
    except NoDelta as reason:
        return plan, f"the whole tree was compared: {reason}"
    return replace(plan, delta=found), None


def basis_of(document: dict, paths, target: str) -> tuple[str | None, str]:
    """The snapshot the trip state says the laptop holds for `paths` (each inside a path the
    trip restored) at `target`, or None and why not: the last finished restore of this trip
    (finalize's, else prepare's)."""
    state = document.get("state")
    record = document.get("finalize") if state == "finalized" else document.get("prepare") if state == "prepared" \
        else None
    if not record or not record.get("snapshot"):
        return None, "the trip state does not say which snapshot the laptop holds"
    held = [str(p).strip("/") for p in record.get("paths") or []]
    for path in paths:
        text = str(path).strip("/")
        if not any(text == h or text.startswith(h + "/") for h in held):
            return None, f"{text} is not among the paths the laptop got from {record['snapshot']}"
    if record.get("target") not in (None, target):
        return None, f"{record['snapshot']} went to {record.get('target')}, not {target}"
    return record["snapshot"], ""
