"""The encryption of an off-site copy, done by gocryptfs (an existing, audited engine), never here.

`reverse_view` mounts a read-only, deterministic ciphertext view of a snapshot
(`gocryptfs -reverse`) that plain rsync copies; `forward_view` mounts a read-only plaintext
view of such a copy (gocryptfs forward mode, `-ro`) to restore from. One config file, kept
outside the snapshots (they are read-only), holds the master key encrypted with the password.

The password reaches gocryptfs on its standard input (a pipe), never on a command line nor in
an environment; no message, log or exception carries it.
"""

import contextlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Mapping

from travelsync.atomic import fsync_dir
from travelsync.errors import TravelsyncError, UsageError
from travelsync.process import Completed, ProgramMissing, die_with_parent, run

INSTALL_HINT = "install the Debian packages gocryptfs and fuse3"
MOUNT_SECONDS = 60.0  # scrypt and the mount itself; a slow machine takes about a second
UNMOUNT_SECONDS = 10.0  # a busy view is retried this long, then detached lazily
STOP_SECONDS = 2.0  # gocryptfs ends this soon after its unmount (or its SIGTERM), else the next signal
# An empty, unmounted mount point older than this is a killed run's: a live one is mounted
# within MOUNT_SECONDS of being made, or given up and removed (one swept while being taken
# down costs nothing: its own rmdir then finds it gone).
STALE_SECONDS = 2 * MOUNT_SECONDS
PASSWORD_MAX = 2048  # gocryptfs reads at most this many bytes of password
SCRYPT_COST = 16  # log2 of scrypt's N for a new config: gocryptfs's default (64 MiB, ~0.3 s a mount)
MOUNT_PREFIX = "travelsync-crypt-"
KEY_CHECK_NAME = "travelsync-key-check"  # key_fingerprint encrypts this name
# gocryptfs's exit codes (its manual, EXIT CODES)
EXIT_WRONG_PASSWORD = 12
EXIT_CONFIG_UNREADABLE = (11, 23)  # 11: gocryptfs 2.3 on a config it cannot parse; 23: per its manual
# Ciphertext entries that are not encrypted names: the per-folder IV, a config, and the file
# that holds a long name's ciphertext beside its hashed stand-in.
_NOT_NAMES = re.compile(r"^(gocryptfs\.diriv|gocryptfs\.conf|gocryptfs\.longname\..*\.name)$")


class WrongPassword(UsageError):
    """gocryptfs refused the password for this config: nothing was mounted or written."""


class ConfigMismatch(UsageError):
    """A ciphertext tree was made with another gocryptfs config (another master key)."""


class CryptUnavailable(ProgramMissing):
    """No gocryptfs, no fusermount or no /dev/fuse on this machine."""


def password_from_command(command: str, environ: Mapping[str, str]) -> bytes:
    """Run the user's `password_command` through the shell; return its output less one trailing
    newline. Its stderr passes through to the user (gpg's own messages); its output is never shown.

    Raise UsageError (exit 2) naming the command if it fails, prints nothing, or prints more than
    one line (gocryptfs would use the first line only: `| head -n1` says so explicitly).
    """
    try:
        done = subprocess.run(["/bin/sh", "-c", command], stdout=subprocess.PIPE, env=dict(environ))
    except OSError as error:
        raise UsageError(f"password_command {command!r}: cannot run /bin/sh: {error.strerror}")
    if done.returncode != 0:
        raise UsageError(f"password_command {command!r} failed (exit status {done.returncode})")
    password = done.stdout[:-1] if done.stdout.endswith(b"\n") else done.stdout
    if not password:
        raise UsageError(f"password_command {command!r} printed no password")
    if b"\n" in password:
        raise UsageError(f"password_command {command!r} printed more than one line; "
                         "make it print the password alone (e.g. append '| head -n1')")
    return password


def init_config(config_path: Path, password: bytes) -> None:
    """Create a new reverse-mode gocryptfs config (a new random master key, encrypted with
    `password`) at `config_path`, outside any snapshot.

    Raise UsageError if `config_path` exists (a config replaced is every copy made with it lost),
    CryptUnavailable if gocryptfs is missing. The file appears whole or not at all.
    """
    config_path = Path(config_path)
    _check_password(password)
    if os.path.lexists(config_path):
        raise UsageError(f"{config_path}: a gocryptfs config is already there; refusing to replace it "
                         "(the copies made with it could no longer be read)")
    _programs()
    config_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".travelsync-crypt-init-", dir=config_path.parent) as scratch:
        written = Path(scratch) / "gocryptfs.conf"
        empty = Path(scratch) / "empty"
        empty.mkdir()
        done = run(["gocryptfs", "-init", "-reverse", "-q", "-scryptn", str(SCRYPT_COST), "-config", written, "--", empty], input=password + b"\n")
        if not done.ok:
            raise TravelsyncError(f"{config_path}: gocryptfs -init failed: {done.error_line()}")
        _fsync(written)
        try:
            os.link(written, config_path)  # never replaces: a config that appeared meanwhile stays
        except FileExistsError:
            raise UsageError(f"{config_path}: a gocryptfs config is already there; refusing to replace it")
    fsync_dir(config_path.parent)


@contextlib.contextmanager
def reverse_view(plain_dir: Path, config_path: Path, password: bytes) -> Iterator[Path]:
    """Yield a read-only ciphertext view of `plain_dir` (gocryptfs -reverse), mounted on a private
    temporary folder and unmounted when the block ends, however it ends.

    Deterministic: the same config, relative path and content give the same ciphertext name and
    bytes in every mount, so rsync between views moves only what changed. Raise WrongPassword,
    CryptUnavailable, UsageError for a missing config or folder.
    """
    with _mounted(["-reverse"], Path(plain_dir), Path(config_path), password) as view:
        yield view


@contextlib.contextmanager
def forward_view(cipher_dir: Path, config_path: Path, password: bytes) -> Iterator[Path]:
    """Yield a read-only plaintext view of `cipher_dir`, a ciphertext tree copied from a reverse
    view (gocryptfs forward mode, -ro), unmounted when the block ends.

    Raise ConfigMismatch when none of the names at its top decrypts (another config made it),
    WrongPassword, CryptUnavailable, UsageError for a missing config or folder, or a folder
    that is no ciphertext tree (gocryptfs would mount it and answer every read with EIO).
    """
    cipher_dir = Path(cipher_dir)
    if cipher_dir.is_dir() and not (cipher_dir / "gocryptfs.diriv").is_file():
        raise UsageError(f"{cipher_dir}: not a gocryptfs ciphertext tree (no gocryptfs.diriv at its top): "
                         "give the folder that holds one snapshot's encrypted copy")
    with _mounted(["-ro"], cipher_dir, Path(config_path), password) as view:
        _check_names_decrypt(cipher_dir, view, Path(config_path))
        yield view


def key_fingerprint(config_path: Path, password: bytes) -> str:
    """A text that only this config's master key gives, to keep beside a copy and compare
    before adding to it: another config (another key) gives another text; a password changed
    with `gocryptfs -passwd` keeps it. It is the encrypted name of a fixed file name at the top
    of a reverse view (whose folder IV is the same for every key), so it tells no more than
    any encrypted name in the copy does. Costs one mount (~0.3 s)."""
    with tempfile.TemporaryDirectory(prefix="travelsync-crypt-key-") as scratch:
        (Path(scratch) / KEY_CHECK_NAME).touch()
        with reverse_view(Path(scratch), Path(config_path), password) as view:
            [name] = [entry for entry in os.listdir(view) if not _NOT_NAMES.match(entry)]
    return name


def mount_points(mountinfo: str) -> set[str]:
    """The mount points listed in a /proc/self/mountinfo text (octal escapes undone)."""
    points = set()
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def is_mounted(path: Path) -> bool:
    """Whether `path` is a mount point now (read from the kernel's table, which names real
    paths: its folder's links are resolved; the mount itself is not touched)."""
    path = os.path.abspath(path)
    real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    text = Path("/proc/self/mountinfo").read_bytes().decode("utf-8", "surrogateescape")
    return os.fsdecode(real) in mount_points(text)


# -- the mount's life ---------------------------------------------------------------------------

@contextlib.contextmanager
def _mounted(mode: list, source: Path, config_path: Path, password: bytes) -> Iterator[Path]:
    _check_password(password)
    fusermount = _programs()
    if not config_path.is_file():
        raise UsageError(f"{config_path}: no gocryptfs config there")
    if not source.is_dir():
        raise UsageError(f"{source}: no such folder")
    _sweep_stale_mount_points()
    log = tempfile.TemporaryFile()
    # 0700: ours alone; its real path, as the kernel's mount table names it (TMPDIR may be a link)
    mountpoint = Path(os.path.realpath(tempfile.mkdtemp(prefix=MOUNT_PREFIX)))
    process = None
    try:
        # -fg: this process owns the daemon (its exit code, its end); its own session: a Ctrl-C
        # at the terminal reaches travelsync, which unmounts once rsync has stopped; the
        # parent-death signal: a travelsync killed outright still takes the view down.
        process = subprocess.Popen(
            ["gocryptfs", "-fg", "-q", *mode, "-config", str(config_path), "--", str(source), str(mountpoint)],
            stdin=subprocess.PIPE, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=die_with_parent())
        try:
            process.stdin.write(password + b"\n")
            process.stdin.close()
        except BrokenPipeError:  # it ended at once; its exit code says why
            pass
        _wait_for_mount(process, mountpoint, source, config_path, log)
        yield mountpoint
    finally:
        _unmount(process, mountpoint, fusermount)
        log.close()


def _wait_for_mount(process, mountpoint: Path, source: Path, config_path: Path, log) -> None:
    deadline = time.monotonic() + MOUNT_SECONDS
    while not is_mounted(mountpoint):
        code = process.poll()
        if code is not None:
            log.seek(0)
            said = Completed((), code, b"", log.read()).error_line()
            if code == EXIT_WRONG_PASSWORD:
                raise WrongPassword(f"{config_path}: wrong password for this gocryptfs config")
            if code in EXIT_CONFIG_UNREADABLE:
                raise UsageError(f"{config_path}: gocryptfs cannot read this config: {said}")
            raise TravelsyncError(f"gocryptfs could not mount {source} with the config {config_path}: {said}")
        if time.monotonic() > deadline:
            raise TravelsyncError(f"gocryptfs did not mount {source} within {MOUNT_SECONDS:g} s")
        time.sleep(0.02)


def _unmount(process, mountpoint: Path, fusermount: str) -> None:
    """Take the view down, however far it got: unmount (retried while busy), end gocryptfs (it
    may still be mounting: stopped mid-mount, it would mount a view nobody unmounts), detach
    what is left lazily, remove the empty mount point. Never raises: it runs while another
    error may be on its way."""
    deadline = time.monotonic() + UNMOUNT_SECONDS
    while is_mounted(mountpoint) and time.monotonic() < deadline:
        _fusermount(fusermount, "-u", mountpoint)
        if is_mounted(mountpoint):
            time.sleep(0.1)
    if process is not None:
        _end(process)
    if is_mounted(mountpoint):  # still busy, or its gocryptfs is dead
        _fusermount(fusermount, "-uz", mountpoint)
    if not is_mounted(mountpoint):
        with contextlib.suppress(OSError):
            mountpoint.rmdir()


def _end(process) -> None:
    """Reap gocryptfs: it ends by itself once unmounted; on SIGTERM it unmounts itself (lazily
    if busy) and ends; SIGKILL ends it whatever it is doing."""
    for stop in (None, process.terminate):
        if stop is not None and process.poll() is None:
            stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_SECONDS)
            return
    process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=UNMOUNT_SECONDS)


def _sweep_stale_mount_points() -> None:
    """Remove the empty mount points that runs killed outright (SIGKILL: gocryptfs unmounted
    itself, nobody removed the folder) left in the temporary folder: ours, unmounted, empty,
    older than STALE_SECONDS (a fresh one may be another run's, about to be mounted)."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(MOUNT_PREFIX + "*"):
        if is_mounted(folder):  # first: a stat of a mount goes to its server, which may hang
            continue
        with contextlib.suppress(OSError):
            info = folder.lstat()
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and now - info.st_mtime > STALE_SECONDS:
                folder.rmdir()  # only if empty


def _fusermount(fusermount: str, option: str, mountpoint: Path) -> None:
    with contextlib.suppress(TravelsyncError):  # a missing fusermount: the view stays, not the error
        run([fusermount, option, "--", mountpoint], timeout=UNMOUNT_SECONDS)


def _check_names_decrypt(cipher_dir: Path, view: Path, config_path: Path) -> None:
    """gocryptfs hides a name it cannot decrypt: a tree made with another master key mounts
    fine and looks empty. Nothing shown at the top of a tree that has names there is another
    config's tree; a few odd names (damage, a file the host added) stay hidden and the rest
    restores (verify against the manifest names what is missing)."""
    names = [e for e in os.listdir(cipher_dir) if not _NOT_NAMES.match(e)]
    if names and not os.listdir(view):
        raise ConfigMismatch(f"{cipher_dir}: made with another gocryptfs config than {config_path} "
                             f"(none of its {len(names)} names decrypts)")


# -- small helpers ------------------------------------------------------------------------------

def _programs() -> str:
    """fusermount's name; raise CryptUnavailable unless gocryptfs, fusermount and /dev/fuse are here."""
    fusermount = shutil.which("fusermount3") or shutil.which("fusermount")
    missing = [name for name, there in (("gocryptfs", shutil.which("gocryptfs")), ("fusermount3", fusermount),
                                        ("/dev/fuse", os.path.exists("/dev/fuse"))) if not there]
    if missing:
        raise CryptUnavailable(f"encryption needs {', '.join(missing)}: {INSTALL_HINT}"
                               + (" (and a kernel with FUSE; in a container, pass --device /dev/fuse)"
                                  if "/dev/fuse" in missing else ""))
    return fusermount


def _check_password(password: bytes) -> None:
    if not password or b"\n" in password or len(password) > PASSWORD_MAX:
        raise UsageError(f"a gocryptfs password is one line of 1 to {PASSWORD_MAX} bytes")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
