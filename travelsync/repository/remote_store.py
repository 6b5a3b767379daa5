"""Repository storage on another machine, reached with ssh: each operation is one short shell
command run there (sh, coreutils, find, flock and rsync needed on the remote). Names travel
quoted (`shlex.quote`), data travels on stdin/stdout; host keys stay checked."""

import os
import shlex
import subprocess

from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.location import Location, ssh_argv
from travelsync.repository.lock import describe_holder, holder_record
from travelsync.shared_ssh import start_master

SSH_UNREACHABLE = 255
RELEASE_SECONDS = 3  # a lock's session is given this long to end after its release, then killed


class RemoteStore:
    rsync_settings = None  # set by open_repository

    def __init__(self, location: Location, ssh, lock_ssh=None):
        self.location = location
        self.ssh = ssh  # the shared connection's settings (multiplexed)
        self.lock_ssh = lock_ssh if lock_ssh is not None else ssh  # the lock's own connection (own_connection)
        self.root = location.path.rstrip("/") or "/"

    # -- plumbing
    def absolute(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _argv(self, script: str) -> list[str]:
        if not getattr(self, "_master_started", False):
            self._master_started = True
            start_master(self.ssh, self.location.ssh_target)
        return ssh_argv(self.ssh, self.location.ssh_target) + [script]

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
        target = self.q(rel)
        temporary = shlex.quote(self.absolute(rel) + ".travelsync-tmp")
        self.run(f"cat > {temporary} && sync {temporary} && mv -f -- {temporary} {target} && "
                 f"sync \"$(dirname -- {target})\"", input=data)

    def makedirs(self, rel: str = "") -> None:
        self.run(f"mkdir -p -- {self.q(rel)}")

    def overview(self):
        """Repository file, emptiness, `latest`, partials and every snapshot.json: one round trip.
        Output: tagged NUL-separated records (R repo file, E empty, L latest, P partial, S snapshot).
        Every file travels in base64: a damaged one may hold NUL bytes (a file zeroed by
        a power cut), which must not split the records; `!` marks one that could not be read."""
        import base64

        from travelsync.repository import layout
        from travelsync.repository.overview import Overview

        script = (f"cd -- {self.q('')} 2>/dev/null || exit 0; "
                  f"if [ -f {layout.REPO_FILE} ]; then printf 'R\\0'; base64 -w0 {layout.REPO_FILE}; printf '\\0'; fi; "
                  "[ -n \"$(ls -A | grep -vx lock)\" ] || printf 'E\\0\\0'; "
                  f"if [ -L {layout.LATEST} ]; then printf 'L\\0'; readlink {layout.LATEST} | tr -d '\\n'; printf '\\0'; fi; "
                  f"for n in {layout.PARTIAL}/* ; do [ -e \"$n\" ] && printf 'P\\0%s\\0' \"${{n#{layout.PARTIAL}/}}\"; done; "
                  f"for d in {layout.SNAPSHOTS}/*; do [ -d \"$d\" ] || continue; printf 'S\\0%s\\0' \"${{d#{layout.SNAPSHOTS}/}}\"; "
                  f"if [ -f \"$d/{layout.SNAPSHOT_FILE}\" ]; then printf Y; "
                  f"base64 -w0 -- \"$d/{layout.SNAPSHOT_FILE}\" 2>/dev/null || printf '!'; else printf N; fi; "
                  "printf '\\0'; done; true")
        parts = self.run(script).stdout.split(b"\0")
        view = Overview(empty=False)
        if parts == [b""]:
            view.empty = True  # no such folder
            return view
        index = 0
        while index + 1 < len(parts):
            tag, value = parts[index], parts[index + 1]
            index += 2
            if tag == b"R":
                view.repo_file = base64.b64decode(value)
            elif tag == b"E":
                view.empty = True
            elif tag == b"L":
                view.latest = value.decode("utf-8", "surrogateescape")
            elif tag == b"P":
                view.partials.append(value.decode("utf-8", "surrogateescape"))
            elif tag == b"S":
                body = parts[index]
                index += 1
                name = value.decode("utf-8", "surrogateescape")
                document = None
                if body[:1] == b"Y" and body.endswith(b"!"):
                    view.unreadable[name] = "reading it failed on the remote"
                elif body[:1] == b"Y":
                    document = base64.b64decode(body[1:])
                view.documents.append((name, document))
        view.partials.sort()
        view.documents.sort()
        return view

    def commit(self, partial: str, document: bytes, target: str, latest: str) -> None:
        """The commit protocol in one remote command (snapshot.json from stdin)."""
        from travelsync.repository import layout

        json_path = shlex.quote(self.absolute(f"{partial}/{layout.SNAPSHOT_FILE}"))
        temporary = shlex.quote(self.absolute(f".{latest}.tmp"))
        # sync -f: the file system's dirty pages (rsync's files, the manifest) written back first
        self.run(f"sync -f {self.q(partial)} && cat > {json_path}.tmp && sync {json_path}.tmp && mv -f -- {json_path}.tmp {json_path} && "
                 f"sync {self.q(partial)} && mv -T -- {self.q(partial)} {self.q(target)} && "
                 f"sync \"$(dirname -- {self.q(partial)})\" \"$(dirname -- {self.q(target)})\" && "
                 f"rm -f -- {temporary} && ln -s -- {shlex.quote(target)} {temporary} && "
                 f"mv -T -- {temporary} {self.q(latest)} && sync {self.q('')}", input=document)

    def rename(self, source: str, target: str) -> None:
        self.run(f"mv -T -- {self.q(source)} {self.q(target)} && sync \"$(dirname -- {self.q(source)})\" "
                 f"\"$(dirname -- {self.q(target)})\"")

    def remove_tree(self, rel: str) -> None:
        self.run(f"rm -rf -- {self.q(rel)}", timeout=3600)

    def lock(self, command: str, notice=None):
        return RemoteLock(self, command, notice)

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
        target = store.q(rel)
        temporary = shlex.quote(store.absolute(rel) + ".travelsync-tmp")
        self.store, self.rel = store, rel
        self.process = subprocess.Popen(
            store._argv(f"cat > {temporary} && sync {temporary} && mv -f -- {temporary} {target} && "
                        f"sync \"$(dirname -- {target})\""),
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
        return ssh_argv(self.store.lock_ssh, self.store.location.ssh_target) + [script]

    def __enter__(self):
        store = self.store
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
