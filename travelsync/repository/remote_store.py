"""Repository storage on another machine, reached with ssh: each operation is one short shell
command run there (sh, coreutils, find, flock and rsync needed on the remote). Names travel
quoted (`shlex.quote`), data travels on stdin/stdout; host keys stay checked.

Every command runs under `umask 077`: what it creates is private from its first byte (folders
0700, files 0600), whatever the ssh session's umask. A file is written into a new temp file
(mktemp) and renamed over the name, so a symlink there is replaced, never written through."""

import os
import posixpath
import shlex
import stat
import subprocess
from types import SimpleNamespace

from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.location import Location, ssh_argv
from travelsync.repository.layout import LOCK_FILE
from travelsync.repository.lock import describe_holder, holder_record
from travelsync.shared_ssh import start_master

SSH_UNREACHABLE = 255
COMMIT_NOTHING, COMMIT_UNFINISHED = 10, 11  # resources/remote/commit.sh
PRIVATE = "umask 077; "  # before every remote command


def replace_script(path: str) -> str:
    """Shell: stdin into a new temp file beside `path` (0600), synced, renamed over `path`."""
    folder = posixpath.dirname(path) or "/"
    template = shlex.quote(f"{folder.rstrip('/')}/.{posixpath.basename(path)}.travelsync-tmp.XXXXXX")
    return (f"t=$(mktemp -- {template}) && {{ cat > \"$t\" && sync -- \"$t\" && mv -f -- \"$t\" {shlex.quote(path)} && "
            f"sync -- {shlex.quote(folder)} || {{ rm -f -- \"$t\"; exit 1; }}; }}")
def read_overview(output: bytes):
    """overview.sh's NUL-separated tagged records → an Overview (no output: no such folder).
    A snapshot.json that could not be read there is named in `unreadable`."""
    import base64

    from travelsync.repository.overview import Overview

    parts = output.split(b"\0")
    view = Overview(empty=False)
    if parts == [b""]:
        view.empty = True  # no such folder
        return view

    def text(value: bytes) -> str:
        return value.decode("utf-8", "surrogateescape")

    index = 0
    while index + 1 < len(parts):
        tag, value = parts[index], parts[index + 1]
        index += 2
        if tag == b"R":
            view.repo_file = base64.b64decode(value)
        elif tag == b"E":
            view.empty = True
        elif tag == b"L":
            view.latest = text(value)
        elif tag == b"P":
            view.partials.append(text(value))
        elif tag == b"X":
            view.links.append((text(value), text(parts[index])))
            index += 1
        elif tag == b"S":
            body = parts[index]
            index += 1
            document = None
            if body[:1] == b"Y" and body.endswith(b"!"):
                view.unreadable[text(value)] = "reading it failed on the remote"
            elif body[:1] == b"Y":
                document = base64.b64decode(body[1:])
            view.documents.append((text(value), document))
    view.partials.sort()
    view.documents.sort()
    return view


RELEASE_SECONDS = 3  # a lock's session is given this long to end after its release, then killed


class RemoteStore:
    rsync_settings = None  # set by open_repository

    def __init__(self, location: Location, ssh, lock_ssh=None):
        self.location = location
        self.ssh = ssh  # the shared connection's settings (multiplexed)
        self.lock_ssh = lock_ssh if lock_ssh is not None else ssh  # the lock's own connection (own_connection)
        self.root = location.path.rstrip("/") or "/"
        self._trusted = False  # trust.problem found the existing folder safe: not asked again

    # -- plumbing
    def absolute(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _argv(self, script: str) -> list[str]:
        if not getattr(self, "_master_started", False):
            self._master_started = True
            start_master(self.ssh, self.location.ssh_target)
        return ssh_argv(self.ssh, self.location.ssh_target) + [PRIVATE + script]

    def run(self, script: str, *, input: bytes | None = None, check: bool = True, timeout: float = 120):
        """Run `script` with the remote shell; raise TemporaryError when ssh cannot connect."""
        from travelsync.process import run

        done = run(self._argv(script), input=input, timeout=timeout)
        if done.returncode == SSH_UNREACHABLE:
            raise TemporaryError(f"repository {self.location}: ssh failed: {done.error_line()}",
                                 hint="check the host, the `ssh:` settings and its known_hosts entry")
        if check and done.returncode != 0:
            raise TravelsyncError(f"repository {self.location}: {done.error_line()}")
        return done

    def q(self, rel: str) -> str:
        return shlex.quote(self.absolute(rel))

    # -- operations
    def read(self, rel: str) -> bytes | None:
        done = self.run(f"if [ -f {self.q(rel)} ]; then printf Y; cat -- {self.q(rel)}; else printf N; fi")
        return done.stdout[1:] if done.stdout[:1] == b"Y" else None

    def write_atomic(self, rel: str, data: bytes) -> None:
        self.run(replace_script(self.absolute(rel)), input=data)

    def makedirs(self, rel: str = "") -> None:
        self.run(f"mkdir -p -- {self.q(rel)}")

    def trust_problem(self, *, create: bool = False) -> str | None:
        """Why a user other than root and the ssh user could change this repository on its
        machine (repository/trust.py), or None; an answer for an existing folder is kept.
        `create`: make the folder first (0700), so that the check sees what will be used."""
        from travelsync.repository import trust

        if self._trusted and not create:
            return None
        files = _RemoteFiles(self, create)
        why = trust.problem(self.root, files.trusted(), lstat=files.lstat, readlink=files.readlink, owner=files.owner)
        lock = files.entries.get(self.absolute(LOCK_FILE))
        if why is None and lock is not None and not stat.S_ISREG(lock.st_mode):  # the lock script would follow it
            what = "a symlink" if stat.S_ISLNK(lock.st_mode) else "not a plain file"
            why = f"{self.absolute(LOCK_FILE)} is {what}; travelsync never follows a symlink inside a repository"
        self._trusted = why is None and files.exists(self.root)
        return why

    def overview(self):
        """Repository file, emptiness, `latest`, partials and every snapshot.json: one round trip
        (resources/remote/overview.sh; its records read by `read_overview`)."""
        from travelsync.repository import layout

        globs = [f"{folder}/*" for folder in (layout.SNAPSHOTS, layout.PARTIAL)]
        never_links = [*layout.TOP_NAMES, *globs, f"{layout.READERS}/*",
                       *(f"{g}/{n}" for g in globs for n in layout.INNER_NAMES),
                       *(f for g in globs for f in layout.source_folders(g, ["*"]))]
        return read_overview(self.run(self.program(
            "overview.sh", self.root, layout.REPO_FILE, layout.LATEST, layout.PARTIAL, layout.SNAPSHOTS,
            layout.SNAPSHOT_FILE, *never_links)).stdout)

    def program(self, name: str, *args: str) -> str:
        """The remote command that runs resources/remote/<name> with `args` (quoted)."""
        from travelsync.resources import remote_program

        return " ".join(["sh", "-c", shlex.quote(remote_program(name)), "travelsync", *map(shlex.quote, args)])

    def commit(self, partial: str, document: bytes, target: str, latest: str) -> None:
        """The commit protocol in one remote program (resources/remote/commit.sh; snapshot.json
        on stdin); a failure says truly whether the snapshot is committed and where `latest` is."""
        import errno

        from travelsync.repository.commit_state import nothing_committed, unfinished

        try:
            done = self.run(self.program("commit.sh", self.root, partial, target, latest), input=document, check=False)
        except TemporaryError as error:
            raise TemporaryError(f"{error}; the commit of {target.rsplit('/', 1)[-1]} may not have finished",
                                 hint="`travelsync snapshots` shows whether it is listed; otherwise the next run "
                                      "resumes its partial snapshot") from None
        reason = done.error_line()
        if done.returncode == 0:
            return
        if done.returncode == COMMIT_NOTHING:
            if "No space left" in reason:
                raise OSError(errno.ENOSPC, reason)  # the engine's "no space left on <repository>"
            raise nothing_committed(reason, partial)
        if done.returncode == COMMIT_UNFINISHED:
            lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
            now = lines[-1][len("latest "):] if lines and lines[-1].startswith("latest ") else None
            raise unfinished(target.rsplit("/", 1)[-1], reason, target, now)
        raise TravelsyncError(f"repository {self.location}: the commit failed: {reason}")

    def rename(self, source: str, target: str) -> None:
        self.run(f"mv -T -- {self.q(source)} {self.q(target)} && sync \"$(dirname -- {self.q(source)})\" "
                 f"\"$(dirname -- {self.q(target)})\"")

    def remove_tree(self, rel: str) -> None:
        self.run(f"rm -rf -- {self.q(rel)}", timeout=3600)

    def lock(self, command: str, notice=None):
        return RemoteLock(self, command, notice)

    def reader_lock(self, snapshot_id: str):
        """Context manager: a shared lock on snapshot `snapshot_id` (REPO/readers/<id>), held by a
        remote `flock -s` for as long as this command reads it; SnapshotGone when it was deleted
        before the lock was taken."""
        return RemoteReaderLock(self, snapshot_id)

    # exit 76: a reader holds the snapshot (flock -n -E 76); nothing was renamed
    RETIRE = ("umask 077; cd -- {root} && mkdir -p {readers} && exec flock -x -n -E 76 {readers}/{id} sh -c "
              "'mv -T -- \"$1\" \"$2\" && rm -f -- \"$3\" && sync \"$(dirname -- \"$1\")\" \"$(dirname -- \"$2\")\"' "
              "travelsync {source} {target} {readers}/{id}")

    def retire_unless_read(self, snapshot_id: str, target: str) -> bool:
        """Rename snapshots/<id> to `target` unless a reader holds it (then False, nothing done)."""
        from travelsync.repository import layout

        done = self.run(self.RETIRE.format(root=self.q(""), readers=layout.READERS, id=shlex.quote(snapshot_id),
                                           source=shlex.quote(f"{layout.SNAPSHOTS}/{snapshot_id}"),
                                           target=shlex.quote(target)), check=False)
        if done.returncode == 76:
            return False
        if done.returncode != 0:
            raise TravelsyncError(f"repository {self.location}: {done.error_line()}")
        return True

    def file_hashes(self, rel: str):
        """The files under rel, hashed on the remote when a manifest asks (sha256sum for a
        version-1 manifest, rsync's xxh128 listing for version 2): no data crosses the network."""
        from travelsync.verify.check import TreeHashes

        return TreeHashes(lambda: self._sha256_pairs(rel), self.rsync_settings, self.ssh,
                          self.location.child(rel))

    def _sha256_pairs(self, rel: str):
        done = self.run(f"cd -- {self.q(rel)} && find . -type f -print0 | xargs -0r sha256sum -z --", timeout=3600)
        for record in done.stdout.split(b"\0"):
            if record:
                digest, path = record.split(b"  ", 1)
                yield (path[2:] if path.startswith(b"./") else path), digest.decode()

    def open_for_reading(self, rel: str):
        """The remote file as a stream (ssh `cat`), or None when it does not exist."""
        process = subprocess.Popen(self._argv(f"cat -- {self.q(rel)} 2>/dev/null || exit 66"),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        first = process.stdout.peek(1)[:1] if hasattr(process.stdout, "peek") else b""
        if not first:
            code = process.wait()
            process.stdout.close()
            if code == SSH_UNREACHABLE:
                raise TemporaryError(f"repository {self.location}: ssh failed reading {rel}")
            if code == 66:
                return None
            return _RemoteReader(None)
        return _RemoteReader(process)

    def open_for_writing(self, rel: str):
        return _RemoteWriter(self, rel)


def read_probe(output: bytes):
    """trust-probe.sh's NUL-separated tagged records → (the ssh user's uid, {path: lstat-like},
    {uid: owner name}, {symlink: its target})."""
    import base64

    parts = output.split(b"\0")
    uid, entries, names, links = None, {}, {}, {}
    index = 0
    while index + 1 < len(parts):
        tag, name = parts[index], parts[index + 1].decode("utf-8", "surrogateescape")
        if tag == b"U":
            uid, index = int(name), index + 2
        elif tag == b"S":
            mode, owner_uid, owner = parts[index + 2].decode("utf-8", "surrogateescape").split(" ", 2)
            entries[name] = SimpleNamespace(st_mode=int(mode, 16), st_uid=int(owner_uid))
            names[int(owner_uid)] = owner
            index += 3
        elif tag == b"L":
            links[name] = base64.b64decode(parts[index + 2]).decode("utf-8", "surrogateescape").removesuffix("\n")
            index += 3
        else:
            break
    return uid, entries, names, links


class _RemoteFiles:
    """lstat/readlink on the repository's machine for trust.problem: one ssh command fetches
    every folder above a path and above its resolved form (`readlink -f`), so a walk costs one
    round trip, and one more for each symlink leading somewhere not fetched yet."""

    def __init__(self, store: RemoteStore, create: bool):
        self.store, self.create = store, create
        self.entries, self.links, self.names, self.fetched, self.uid = {}, {}, {}, set(), None

    def _fetch(self, path: str) -> None:
        prefixes = [path]
        while prefixes[-1] != "/":
            prefixes.append(posixpath.dirname(prefixes[-1]))
        create, self.create = self.create, False
        extra = [self.store.absolute(LOCK_FILE)] if path == self.store.root else []
        done = self.store.run(self.store.program("trust-probe.sh", "1" if create else "0", *prefixes, *extra))
        uid, entries, names, links = read_probe(done.stdout)
        self.uid = uid if uid is not None else self.uid
        self.entries.update(entries)
        self.names.update(names)
        self.links.update(links)
        self.fetched.update(entries)
        self.fetched.update(prefixes)

    def trusted(self) -> frozenset:
        if self.uid is None:
            self._fetch(self.store.root)
        return frozenset({0, self.uid})

    def lstat(self, path: str):
        if path not in self.fetched:
            self._fetch(path)
        if path not in self.entries:
            raise FileNotFoundError(path)
        return self.entries[path]

    def readlink(self, path: str) -> str:
        return self.links[path]

    def owner(self, uid: int) -> str:
        return self.names.get(uid, "unknown")

    def exists(self, path: str) -> bool:
        return path in self.entries


class _RemoteReader:
    """A remote file's bytes as they arrive from `ssh cat` (a file-like object)."""

    def __init__(self, process):
        self.process = process

    def read(self, size: int = -1) -> bytes:
        return self.process.stdout.read(size) if self.process is not None else b""

    def readinto(self, buffer) -> int:
        return self.process.stdout.readinto(buffer) if self.process is not None else 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self.process is not None:
            self.process.stdout.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _RemoteWriter:
    """A file-like object streaming its bytes into a remote temp file (`ssh cat >`); on close
    the file is synced and renamed into place, so a reader never sees half a file."""

    def __init__(self, store: RemoteStore, rel: str):
        self.store, self.rel = store, rel
        self.process = subprocess.Popen(store._argv(replace_script(store.absolute(rel))),
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def write(self, data: bytes) -> int:
        try:
            self.process.stdin.write(data)
        except BrokenPipeError:
            self._finish()
        return len(data)

    def flush(self) -> None:
        pass

    def _finish(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        code = process.wait(timeout=600)
        error = process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        process.stderr.close()
        if code == SSH_UNREACHABLE:
            raise TemporaryError(f"repository {self.store.location}: ssh failed writing {self.rel}")
        if code != 0:
            raise TravelsyncError(f"repository {self.store.location}: cannot write {self.rel}: "
                                  f"{error[-1] if error else f'exit status {code}'}")

    def close(self) -> None:
        self._finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        elif self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class RemoteReaderLock:
    """A shared flock on REPO/readers/<id>, held by a remote `flock -s … sh` on the run's shared
    connection until the block ends (or travelsync dies: the session closes, the lock goes).
    The remote shell looks for the snapshot once it holds the lock and says READING or GONE;
    a repository it cannot write (a read-only mount) is read without a lock (UNLOCKED)."""

    SCRIPT = ("umask 077; cd -- {root} || exit 1; "
              "if mkdir -p {readers} 2>/dev/null && : >> {readers}/{id} 2>/dev/null; then "
              "exec flock -s -w {wait} -E 75 {readers}/{id} sh -c "
              "'if [ -d \"$1\" ] && [ ! -L \"$1\" ]; then echo READING; else echo GONE; fi; read answer' "
              "travelsync {folder}; fi; "
              "if [ -d {folder} ]; then echo UNLOCKED; else echo GONE; fi; read answer")

    def __init__(self, store: RemoteStore, snapshot_id: str):
        from travelsync.repository import layout
        from travelsync.repository.lock import READER_WAIT

        self.store, self.snapshot_id = store, snapshot_id
        script = self.SCRIPT.format(root=store.q(""), readers=layout.READERS, id=shlex.quote(snapshot_id),
                                    wait=int(READER_WAIT), folder=shlex.quote(f"{layout.SNAPSHOTS}/{snapshot_id}"))
        self.process = subprocess.Popen(store._argv(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def __enter__(self):
        from travelsync.repository.lock import SnapshotGone

        line = self.process.stdout.readline().decode("utf-8", "replace").strip()
        if line in ("READING", "UNLOCKED"):
            return self
        code = self._close()
        if line == "GONE":
            raise SnapshotGone(self.snapshot_id)
        error = self.error
        if code == 75:
            raise TemporaryError(f"repository {self.store.location}: snapshot {self.snapshot_id} is being deleted "
                                 "by a prune that does not finish", hint="try again later")
        if code == SSH_UNREACHABLE:
            raise TemporaryError(f"repository {self.store.location}: ssh failed: {error or 'exit 255'}")
        raise TravelsyncError(f"repository {self.store.location}: cannot take the reader's lock on "
                              f"{self.snapshot_id}: {error or f'exit status {code}'}")

    def __exit__(self, *exc):
        self._close()
        return False

    def _close(self) -> int:
        try:
            self.process.stdin.close()  # `read answer` ends: the remote shell, and its lock, go
        except OSError:
            pass
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        lines = self.process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        self.error = lines[-1] if lines else ""
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
        return code


class RemoteLock:
    """flock on the remote REPO/lock, held by a remote `flock … sh` that lives as long as this
    ssh session. A normal release writes `release` on stdin (the record is cleared); a crash
    just closes stdin, leaving the record, so the next holder says it takes over.

    The session runs on a connection of its own (ControlPath=none): through the shared one,
    the lock would end with its master while the backup retried and committed without it.
    If the session ends anyway (the network, sshd, a kill), `lost()` says so and the backup
    stops before its commit.

    The connection is opened when the object is made, so its handshake overlaps whatever the
    caller reads first (the format check); the remote side waits for `go` and takes nothing
    before it: `abandon()` (or travelsync's death) just ends the session."""

    SCRIPT = ("read go && [ \"$go\" = go ] || exit 0; mkdir -p -- \"$(dirname -- {lock})\" && exec flock -n -E 75 {lock} sh -c 'old=$(cat \"$2\"); printf \"%s\\n\" \"$1\" > \"$2\"; "
              "printf \"LOCKED %s\\n\" \"$old\"; read answer; if [ \"$answer\" = release ]; then : > \"$2\"; fi' "
              "travelsync {record} {lock}")

    def __init__(self, store: RemoteStore, command: str, notice=None):
        self.store, self.command, self.notice = store, command, notice
        self.ended = None  # why the session ended while held
        script = self.SCRIPT.format(lock=store.q("lock"), record=shlex.quote(holder_record(command).strip()))
        self.process = subprocess.Popen(self.argv(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def argv(self, script: str) -> list[str]:
        return ssh_argv(self.store.lock_ssh, self.store.location.ssh_target) + [PRIVATE + script]

    def __enter__(self):
        store = self.store
        try:  # the folder made (0700) and checked before the lock opens anything in it
            from travelsync.repository import trust

            trust.refuse(store.location, store.trust_problem(create=True))
        except BaseException:
            self._close()
            raise
        try:
            self.process.stdin.write(b"go\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the session is gone already: the readline below says why
        line = self.process.stdout.readline().decode("utf-8", "replace")
        if not line.startswith("LOCKED"):
            code = self.process.wait(timeout=60)
            error = self.process.stderr.read().decode("utf-8", "replace").strip().splitlines()
            self._close()
            if code == 75:
                record = (store.read("lock") or b"").decode("utf-8", "replace")
                raise TemporaryError(f"repository {store.location} is locked by {describe_holder(record)}",
                                     hint="another backup or prune is running; try again later")
            message = error[-1] if error else f"exit status {code}"
            if code == SSH_UNREACHABLE:
                raise TemporaryError(f"repository {store.location}: ssh failed: {message}")
            raise TravelsyncError(f"repository {store.location}: cannot take the lock: {message}")
        previous = line[len("LOCKED"):].strip()
        if previous and self.notice is not None:
            self.notice(f"took over the lock of {describe_holder(previous)}, which is no longer running")
        return self

    def lost(self) -> str | None:
        """None while the lock's session lives; else what ended it (cheap: a waitpid)."""
        if self.ended is None and self.process is not None and self.process.poll() is not None:
            try:  # what ssh said; non-blocking: a ProxyCommand child may still hold the pipe
                os.set_blocking(self.process.stderr.fileno(), False)
                error = (self.process.stderr.read() or b"").decode("utf-8", "replace").strip().splitlines()
            except (OSError, ValueError):
                error = []
            code = self.process.returncode
            how = f"signal {-code}" if code < 0 else f"exit {code}"
            self.ended = f"its ssh session to {self.store.location.ssh_target} ended ({how}" + (
                f": {error[-1]})" if error else ")")
        return self.ended

    def __exit__(self, *exc):
        self._close(b"release\n")
        return False

    def abandon(self) -> None:
        """Never entered: end the session; nothing was taken or written."""
        self._close()

    def _close(self, last: bytes = b"") -> None:
        if self.process is None:
            return
        try:
            if last:
                self.process.stdin.write(last)
            self.process.stdin.close()
        except OSError:
            pass
        try:  # one round trip when the link works; over a silent one, not the keep-alives' minute
            self.process.wait(timeout=RELEASE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
        self.process = None
