"""Small questions about a folder that is local or reached over ssh: exists, list, stat, remove.

Used for the few files a restore looks at besides rsync's own work (selected paths in the
snapshot, the displaced folder).  Remote folders get one ssh command per question, with
names passed NUL-separated on stdin so no name can become an option or shell syntax.
"""

import os
import signal
import stat
import threading
from pathlib import Path, PurePosixPath

from travelsync import process
from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.location import Location, remote_shell_command, ssh_argv

SSH_TIMEOUT = 30.0
SWEEP_TIMEOUT = 300.0  # listing and deleting a large displaced folder over ssh


def _ssh(location: Location, ssh, command: str, *, input: bytes | None = None, timeout: float = SSH_TIMEOUT):
    """Run `command` there, on the run's shared connection to that machine (shared_ssh.py)."""
    from travelsync.shared_ssh import shared

    ssh = shared(ssh, location.ssh_target, timeout=timeout)
    done = process.run(ssh_argv(ssh, location.ssh_target) + ["--", command], input=input, timeout=timeout)
    if done.returncode == 255:
        raise TemporaryError(f"{location.ssh_target}: cannot reach it over ssh ({done.error_line()})",
                             hint="check that the machine is on and reachable, then run the command again")
    return done


def check_reachable(location: Location, ssh, timeout: float = 15.0) -> None:
    """Raise TemporaryError (exit 75) when a remote place does not answer over ssh; local: no-op."""
    if location.is_remote:
        from travelsync.shared_ssh import open_shared

        if open_shared(ssh, location.ssh_target, timeout=timeout)[1]:
            return  # the shared connection's master logged in: it answers (and spares a session)
        try:
            _ssh(location, ssh, "true", timeout=timeout)
        except TemporaryError:
            raise
        except TravelsyncError as error:
            raise TemporaryError(f"{location.ssh_target}: {error.message}")


def missing(location: Location, relative_paths, ssh) -> list[str]:
    """The relative paths (of `relative_paths`) that do not exist under `location`."""
    relative_paths = [str(p) for p in relative_paths]
    if not location.is_remote:
        return [p for p in relative_paths if not os.path.lexists(Path(location.path, p))]
    script = remote_shell_command("cd", location.path) + ' && while IFS= read -r -d "" p; do ' \
        '[ -e "$p" ] || [ -L "$p" ] || printf "%s\\0" "$p"; done'
    done = _ssh(location, ssh, f"bash -c {remote_shell_command(script)}",
                input=b"".join(p.encode() + b"\0" for p in relative_paths))
    if not done.ok and not done.stdout:
        if b"No such file" in done.stderr or b"can't cd" in done.stderr:
            return relative_paths
        raise TravelsyncError(f"{location}: cannot check paths ({done.error_line()})")
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def resolve(location: Location, paths, ssh) -> list[tuple[str, bool]]:
    """For each absolute path on `location`'s machine: (its real path, is it itself a symlink).

    The real path resolves every symlink of the part that exists (`realpath -m`): what a
    program that opens the path would reach.  A remote machine answers in one ssh command."""
    paths = [str(p) for p in paths]
    if not paths:
        return []
    if not location.is_remote:
        return [(os.path.realpath(p), os.path.islink(p)) for p in paths]
    script = ('while IFS= read -r -d "" p; do realpath -zm -- "$p" || printf "\\0"; '
              'if [ -L "$p" ]; then printf "L\\0"; else printf -- "-\\0"; fi; done')
    done = _ssh(location, ssh, f"bash -c {remote_shell_command(script)}",
                input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths))
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
    if not done.ok or len(fields) != 2 * len(paths) or not all(fields[0::2]):
        raise TravelsyncError(f"{location.ssh_target}: cannot resolve {paths[0]} there ({done.error_line()})")
    return [(real, link == "L") for real, link in zip(fields[0::2], fields[1::2])]


def beneath_links(location: Location, relative_paths, ssh) -> list[str]:
    """The relative paths under `location` whose folder is reached through a symlink: opening
    them would read (or write) wherever the link points, not under `location`.  The last part
    may itself be a link (rsync copies a link as a link)."""
    folders = {str(p): str(PurePosixPath(p).parent) for p in relative_paths}
    inner = sorted({f for f in folders.values() if f != "."})
    if not inner:
        return []  # whole sources, or names straight inside them: no folder on the way
    base = location.path.rstrip("/") or "/"
    resolved = resolve(location, [base] + [f"{base}/{f}" for f in inner], ssh)
    real_base = resolved[0][0]
    real = {f: r for f, (r, _) in zip(inner, resolved[1:])}
    return [p for p, f in folders.items() if f != "." and real[f] != str(PurePosixPath(real_base) / f)]


def refuse_links_on_the_way(data: Location, group, snapshot_id: str, ssh) -> None:
    """Refuse (UsageError, exit 2) a selected path beneath a symlink in the snapshot: rsync
    would follow the link and copy live files from wherever it points, reported as restored
    from the snapshot.  A restore reads only the snapshot."""
    from travelsync.errors import UsageError

    linked = beneath_links(data, [str(i) for i in group.insides], ssh)
    if linked:
        shown = ", ".join(f"{group.source_name}/{p}" for p in linked)
        raise UsageError(f"{shown}: lies beneath a symlink in snapshot {snapshot_id}; a restore would copy what the "
                         "link points to, not the snapshot", hint="restore the link itself, or the folder it names")


def _scan(folder: str, prefix: str, found: dict) -> None:
    """sweep's listing of a local folder: one lstat per entry (os.scandir), names as plain strings."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            _scan(entry.path, relative + "/", found)
        elif entry.is_file(follow_symlinks=False):
            info = entry.stat(follow_symlinks=False)
            found[relative] = (info.st_size, int(info.st_mtime))


def stat_files(location: Location, relative_paths, ssh) -> dict[str, tuple[int, int]]:
    """Size and mtime of the given regular files under `location` (absent ones are left out)."""
    relative_paths = [str(p) for p in relative_paths]
    if not relative_paths:
        return {}
    if not location.is_remote:
        found = {}
        for rel in relative_paths:
            try:
                info = os.lstat(os.path.join(location.path, rel))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found[rel] = (info.st_size, int(info.st_mtime))
        return found
    command = (remote_shell_command("cd", location.path) +
               " && xargs -0 -r sh -c 'find \"$@\" -maxdepth 0 -type f -printf \"%s %T@ %p\\0\"' find 2>/dev/null;"
               " exit 0")
    done = _ssh(location, ssh, command, input=b"".join(p.encode() + b"\0" for p in relative_paths))
    return _parse_find(done.stdout)


def _parse_find(output: bytes) -> dict[str, tuple[int, int]]:
    found = {}
    for record in output.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        size, mtime, name = record.split(" ", 2)
        found[name] = (int(size), int(float(mtime)))
    return found


def same_file(left: Location, right: Location, left_stat, right_stat) -> bool:
    """Two files with the same size and mtime (rsync's quick check); both local: the same bytes too."""
    if left_stat is None or right_stat is None or left_stat != right_stat:
        return False
    if not left.is_remote and not right.is_remote:
        import filecmp

        return filecmp.cmp(left.path, right.path, shallow=False)
    return True


def sweep(location: Location, decide, ssh) -> dict[str, tuple[int, int]]:
    """List every regular file under `location` (relative path → (size, whole-second mtime)),
    delete those `decide(found)` names, then the folders left empty: `location` itself and its
    parent too when nothing else is in them. Returns what was found ({} if absent).

    A remote folder takes one ssh session: the listing comes first, ended by an empty record,
    then the session reads the names to delete from its stdin (a second command would cost a
    second session; about 0.1 s on a laptop whose shell reads a .bashrc)."""
    if not location.is_remote:
        if not os.path.isdir(location.path):
            return {}
        found = {}
        _scan(location.path.rstrip("/") or "/", "", found)
        doomed = decide(found) if found else ()
        for rel in doomed:
            try:
                os.unlink(os.path.join(location.path, rel))
            except FileNotFoundError:
                pass
        _remove_empty_folders(Path(location.path))  # as the remote script does: what is left empty goes
        try:
            os.rmdir(os.path.dirname(location.path.rstrip("/")))
        except OSError:
            pass  # not empty (another restore's folder, or what was kept), or gone
        return found
    return _sweep_remote(location, decide, ssh)


def _sweep_remote(location: Location, decide, ssh) -> dict[str, tuple[int, int]]:
    import subprocess
    import tempfile

    from travelsync.shared_ssh import shared

    folder = remote_shell_command(location.path)
    parent = remote_shell_command(os.path.dirname(location.path.rstrip("/")))
    script = (f"cd {folder} 2>/dev/null || {{ printf '\\0'; exit 0; }}; "
              "find . -type f -printf '%s %T@ %P\\0'; printf '\\0'; "
              f"xargs -0 -r rm -f --; cd / && find {folder} -depth -type d -empty -delete; "
              f"rmdir -- {parent} 2>/dev/null; exit 0")
    argv = ssh_argv(shared(ssh, location.ssh_target), location.ssh_target) + ["--", script]
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a long complaint cannot block the session
        session = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        watchdog = threading.Timer(SWEEP_TIMEOUT, session.kill)  # a laptop that stops answering midway
        watchdog.start()
        try:
            listing = _read_listing(session.stdout)
            found = _parse_find(listing) if listing is not None else {}
            doomed = decide(found) if found else ()
            try:
                session.stdin.write(b"".join(name.encode("utf-8", "surrogateescape") + b"\0" for name in doomed))
                session.stdin.close()
            except BrokenPipeError:
                pass  # the session ended early: its exit status says why
            session.stdout.read()
            code = session.wait()
        except BaseException:
            session.kill()
            session.wait()
            raise
        finally:
            watchdog.cancel()
        if code == -signal.SIGKILL:
            raise TemporaryError(f"{location.ssh_target}: no answer within {SWEEP_TIMEOUT:g} s while tidying "
                                 f"{location.path}", hint="run the command again: it resumes")
        errors.seek(0)
        complaint = errors.read().decode("utf-8", "replace").strip().splitlines()
    if code == 255:
        raise TemporaryError(f"{location.ssh_target}: cannot reach it over ssh ({complaint[-1] if complaint else 'exit 255'})",
                             hint="check that the machine is on and reachable, then run the command again")
    if code != 0 or listing is None:
        raise TravelsyncError(f"{location}: cannot tidy the displaced folder "
                              f"({complaint[-1] if complaint else f'exit {code}'})")
    return found


def _read_listing(stream) -> bytes | None:
    """The find records up to the empty one that ends them (None: the session ended first).
    A name is never empty, so two NULs in a row only ever end the listing."""
    data = bytearray()
    while True:
        chunk = stream.read1(65536)
        if not chunk:
            return None
        data += chunk
        if data == b"\0" or data.endswith(b"\0\0"):
            return bytes(data[:-1])


def _remove_empty_folders(base: Path) -> None:
    if not base.is_dir():
        return
    for folder, _, _ in sorted(os.walk(base), key=lambda entry: -len(entry[0])):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def read_bytes(location: Location, ssh) -> bytes | None:
    """The content of one file (local or over ssh), None when it does not exist."""
    if not location.is_remote:
        try:
            return Path(location.path).read_bytes()
        except FileNotFoundError:
            return None
    done = _ssh(location, ssh, f"cat -- {remote_shell_command(location.path)}")
    if not done.ok:
        if b"No such file" in done.stderr:
            return None
        raise TravelsyncError(f"{location}: cannot read it ({done.error_line()})")
    return done.stdout


def relative_to(path: str, base: str) -> str | None:
    """`path` relative to `base`, or None when it is not inside it."""
    base = base.rstrip("/")
    if not base or base == ".":
        return path
    if path == base:
        return "."
    return path[len(base) + 1:] if path.startswith(base + "/") else None



def heads(location: Location, relative_paths, ssh, size: int) -> dict[str, bytes]:
    """The first `size` bytes of each given regular file under `location` (others left out:
    absent, a symlink, a FIFO, which is never waited on): one ssh session for all of them when
    the place is remote (the names travel on stdin)."""
    relative_paths = [str(p) for p in relative_paths]
    if not relative_paths:
        return {}
    if not location.is_remote:
        found = {}
        for rel in relative_paths:
            try:
                fd = os.open(os.path.join(location.path, rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as handle:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    found[rel] = handle.read(size)
        return found
    import base64

    script = (remote_shell_command("cd", location.path) + " || exit 1; "  # read -d: bash, as the others here
              f"while IFS= read -r -d '' f; do [ -f \"$f\" ] && [ ! -L \"$f\" ] && head -c {int(size)} -- \"$f\" "
              "2>/dev/null | base64 -w0; echo; done")
    done = _ssh(location, ssh, f"bash -c {remote_shell_command(script)}", input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0"
                                                      for p in relative_paths))
    if not done.ok:
        raise TravelsyncError(f"{location}: cannot read the files' first bytes ({done.error_line()})")
    lines = done.stdout.split(b"\n")
    return {rel: base64.b64decode(line) for rel, line in zip(relative_paths, lines) if line}
