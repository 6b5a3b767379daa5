"""One ssh connection per remote machine for a whole run, shared by every command and rsync.

An ssh handshake costs about 0.3 s. A finalize onto a laptop over ssh runs half a dozen short
commands there (is it reachable, what was displaced, tidy it) besides rsync: each on its own
connection, they took longer than the rsync of a 1 % change. With a shared connection (ssh's
ControlMaster) the first one pays the handshake and the others a few milliseconds each.

A master is started explicitly (`ssh -M -N -f`, stdio detached), never by a client that
happens to come first (ControlMaster=auto would leave its stderr open and hold up the
caller). It exits CONTROL_PERSIST_SECONDS after its last session ends, or at once when the
run is stopped by SIGTERM or Ctrl-C (close_used: over a silent link its sessions never end).
When it cannot be started, every command connects on its own, as before, and reports its own
error.
"""

import os
import subprocess
from contextlib import contextmanager

from travelsync.location import ssh_argv

CONTROL_PERSIST_SECONDS = 5
QUIET = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


# A unix socket path holds at most 107 bytes, and ssh binds a master's socket at
# "<ControlPath>.<16 random characters>" before renaming it: longer, ssh fails ("ControlPath
# too long", "too long for Unix domain socket") and the whole backup with it.
SOCKET_PATH_MAX = 107 - 17
CONTROL_HASH_LENGTH = 40  # ssh expands %C to the SHA-1 (hex) of local host, host, port and user


def control_path(folder: str, settings: str) -> str:
    """The shared connection's socket: short (ssh's %C hash) and keyed by the settings."""
    return f"{folder.rstrip('/') or '/'}/ts-{settings}-%C"


def control_path_fits(path: str) -> bool:
    return len(path.encode()) - len("%C") + CONTROL_HASH_LENGTH <= SOCKET_PATH_MAX


def settings_key(ssh) -> str:
    """The settings are part of the socket's name: a changed identity or known_hosts never
    joins a connection that was opened (and its host key checked) under other settings."""
    import hashlib

    return hashlib.sha256(repr((ssh.port, str(ssh.identity), tuple(ssh.options))).encode()).hexdigest()[:10]


def private_folder(path: str) -> bool:
    """Make `path` (mode 0700) or accept it if it is already ours and closed to others: a
    socket someone else could plant there would be joined as our connection."""
    import stat

    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def control_folder(environ) -> str | None:
    """$XDG_RUNTIME_DIR (private to the user) when the socket path fits there; else a private
    folder in /tmp; None when neither can be used (then no connection is shared)."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and control_path_fits(control_path(runtime, "0" * 10)):
        return runtime
    fallback = f"/tmp/travelsync-{os.getuid()}"
    return fallback if private_folder(fallback) else None


def multiplexed(ssh, environ=None):
    """The `ssh:` settings plus a shared connection (ControlPath): a few ms a command instead
    of a new handshake each. ControlMaster=no: only start_master makes a master. With no
    master, ssh simply connects on its own."""
    import dataclasses

    folder = control_folder(os.environ if environ is None else environ)
    if folder is None:
        return own_connection(ssh)
    options = ("-o", "ControlMaster=no", "-o", f"ControlPath={control_path(folder, settings_key(ssh))}")
    return dataclasses.replace(ssh, options=options + tuple(ssh.options))


def own_connection(ssh):
    """The `ssh:` settings on a connection of their own, never the shared one (ssh takes the
    first value of an option, so these win over the user's): the lock's session must not end
    when the shared connection's master dies."""
    import dataclasses

    options = ("-o", "ControlMaster=no", "-o", "ControlPath=none")
    return dataclasses.replace(ssh, options=options + tuple(ssh.options))


# (settings, target) → when its master last failed to start: not tried again for a while, so
# that every command to a machine that does not answer waits once, not twice.
_failed: dict = {}
RETRY_AFTER_SECONDS = 60
# (ssh argv of the multiplexed settings, target) of every master this process started or joined.
_used: list = []


def start_master(ssh, target: str, *, timeout: float = 30) -> bool:
    """Make sure a master serves `target` for the multiplexed settings `ssh`: True when one
    runs (found or started), False otherwise (the commands then connect on their own).

    Looking and starting happen under a lock file beside the sockets: two travelsync runs
    at once (cron's backup and a restore by hand) would otherwise both find no master and
    both start one; ssh then turns the second into a plain `-N` connection that nothing
    ever closes."""
    argv = ssh_argv(ssh, None)
    paths = [a.split("=", 1)[1] for a in argv if a.startswith("ControlPath=") and a != "ControlPath=none"]
    if not paths:
        return False
    try:
        with _held(master_lock_path(paths[0]), timeout):
            if subprocess.run(argv + ["-O", "check", target], timeout=timeout, **QUIET).returncode == 0:
                _used.append((argv, target))
                return True  # a master from a run moments ago (or another run's) is there
            master = argv[:1] + ["-o", "ControlMaster=yes", "-o", f"ControlPersist={CONTROL_PERSIST_SECONDS}",
                                 "-N", "-f"] + argv[1:] + [target]
            if subprocess.run(master, timeout=timeout, **QUIET).returncode != 0:
                return False
            _used.append((argv, target))
            return True
    except (OSError, subprocess.SubprocessError, TimeoutError):
        return False


def master_lock_path(control_path: str) -> str:
    """`<folder>/ts-<settings>-%C` → `<folder>/ts-<settings>.lock`: one lock for the settings'
    masters (any host), in the same private folder."""
    return control_path.removesuffix("-%C") + ".lock"


@contextmanager
def _held(path: str, timeout: float):
    """flock(2) on `path` for a `with` block, waiting at most `timeout` s (TimeoutError)."""
    import fcntl
    import time

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path}: held by another run") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_shared(ssh, target: str, environ=None, *, timeout: float = 30):
    """(settings on the shared connection to `target`, whether its master runs). A master is
    found (`ssh -O check`, a few ms) or started: `ssh -M -N -f` returns once logged in, so a
    running master also shows that the machine answers and accepts us."""
    import time

    muxed = multiplexed(ssh, environ)
    key = (tuple(ssh_argv(muxed, None)), target)
    if time.monotonic() - _failed.get(key, float("-inf")) < RETRY_AFTER_SECONDS:
        return muxed, False
    if start_master(muxed, target, timeout=timeout):
        return muxed, True
    _failed[key] = time.monotonic()
    return muxed, False


def shared(ssh, target: str, environ=None, *, timeout: float = 30):
    """`ssh` (the `ssh:` settings) on the connection this run shares with `target` (`[user@]host`)."""
    return open_shared(ssh, target, environ, timeout=timeout)[0]


def close_used(timeout: float = 3) -> None:
    """Ask every master this process used to exit now (`ssh -O exit`, through its local socket:
    no packet crosses the network), for a run that was told to stop (SIGTERM, SIGINT).

    A master normally outlives its last session by CONTROL_PERSIST_SECONDS. Over a silent link
    a session's end never comes (the far side never confirms it), so the master would live on,
    holding the stopped run's rsync and ssh sessions, until its keep-alives give up. The master
    may be another run's (one that started it moments ago, or runs beside this one): that run
    loses its sessions to the machine and fails as on a cut connection (a backup retries on a
    connection of its own). Over a silent link it was failing anyway."""
    while _used:
        argv, target = _used.pop()
        try:
            subprocess.run(argv + ["-O", "exit", target], timeout=timeout, **QUIET)
        except (OSError, subprocess.SubprocessError):
            pass
