"""The side effects of switching a mail client: read, check, replace, remember the original.

A config file is either on this machine (LocalFiles) or `[user@]host:/path` (RemoteFiles in
travelsync/mail/remote.py: the same steps done by shipped programs over ssh; every one runs
under umask 077, so a temp copy is never readable by others, not even for a moment).
Before anything is replaced, the edited text is written, with the file's name, mode and owner, into a private
temp folder (mode 0700; on the file's machine) and handed to the client's own parser; only if
that accepts it is the file replaced atomically, with its mode and owner, at the symlink's
target (the link stays).  The check writes nothing beside the file, so a dry run leaves its
folder exactly as it was (listing and mtime).  Every refusal raises MailRefused and leaves
the file as it was (same bytes, same mtime).

The check has no side effects of its own (see `judge`): the copy the checker reads has every
setting whose value is a command neutralised (the client module's `neutralise`: mpop's
`passwordeval`/`eval`, mbsync's PassCmd/UserCmd/Tunnel), and the checkers chosen run nothing,
prompt for nothing and connect nowhere: `fetchmail --configdump`, `mpop -P` on the neutralised
copy, mbsync asked for a channel that does not exist (it answers after parsing, before any
connection), and for getmail and OfflineIMAP a reader script (travelsync/mail/checkers/) that
imports the client's own config code instead of `getmail --dump`, which creates the
message_log file and needs every delivery target to exist.  Where the client prints what it
read, the client module's `confirm` compares that with travelsync's own reading.

Why a private folder is as good as the folder itself for the check: none of these checkers
resolves a path against the config file's folder or opens a file the config names.
"""

import base64
import difflib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Callable

from travelsync import atomic, process
from travelsync.errors import TravelsyncError
from travelsync.location import Location
from travelsync.mail.model import Change, MailConfigError

STATE_FILE = "mailer.json"
CHECK_TIMEOUT = 60


class MailRefused(TravelsyncError):
    """travelsync will not touch this file; the message names the file (and line) and why."""


@dataclass(frozen=True)
class ConfigFile:
    """One client config file as read: where it really is, what it holds."""

    location: Location  # as configured (a symlink stays a symlink)
    real_path: str  # the file that is read and replaced (the link's target)
    data: bytes
    mode: int
    folder_writable: bool = True

    @property
    def text(self) -> str:
        return decode(self.data)

    @property
    def display(self) -> str:
        return str(self.location)

    @property
    def key(self) -> str:
        """Identifies the file in mailer.json: the real file, so two links to it are one file."""
        where = Location(self.real_path, self.location.host, self.location.user)
        return str(where)

    @property
    def sha256(self) -> str:
        return sha256(self.data)


def decode(data: bytes) -> str:
    """Bytes → text that encodes back to the very same bytes (undecodable bytes survive)."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refuse_unwritable(config: ConfigFile) -> None:
    """A read-only folder (or mount): the temp file cannot be made, so the file is not replaced."""
    if not config.folder_writable:
        folder = PurePosixPath(config.real_path).parent
        raise MailRefused(f"{config.display}: its folder {folder} is read-only (travelsync replaces files "
                          "through a temp file there); nothing changed")


def refused_at(config_file_name: str, error: MailConfigError) -> MailRefused:
    where = f"{config_file_name}:{error.line}" if error.line else config_file_name
    return MailRefused(f"{where}: {error.message}; nothing changed")


# -- one interface, two places -----------------------------------------------------------


class LocalFiles:
    """Config files on this machine."""

    def __init__(self, run: Callable = process.run):
        self.run = run

    def read(self, location: Location) -> ConfigFile:
        path = Path(location.path).expanduser()
        name = str(location)
        if not os.path.lexists(path):
            raise MailRefused(f"{name}: no such file; nothing changed")
        real = Path(os.path.realpath(path))
        if not real.exists():
            raise MailRefused(f"{name}: a symlink to {real}, which does not exist; nothing changed")
        info = real.stat()
        if stat.S_ISDIR(info.st_mode):
            raise MailRefused(f"{name}: is a directory, not a mail client's config file; nothing changed")
        if not stat.S_ISREG(info.st_mode):
            raise MailRefused(f"{name}: not a regular file; nothing changed")
        try:
            data = real.read_bytes()
        except PermissionError:
            raise MailRefused(f"{name}: cannot read it (permission denied); nothing changed") from None
        except OSError as error:
            raise MailRefused(f"{name}: cannot read it ({error.strerror}); nothing changed") from None
        folder = real.parent
        writable = os.access(folder, os.W_OK | os.X_OK) and bool(folder.stat().st_mode & 0o222)
        return ConfigFile(location, str(real), data, stat.S_IMODE(info.st_mode), writable)

    def check(self, config: ConfigFile, data: bytes, module: ModuleType) -> str | None:
        """Run the client's own parser on `data` (see `judge`); None, a "not checked" note, or MailRefused."""
        return judge(self._run_copy, config, data, module, "here")

    def _run_copy(self, config: ConfigFile, data: bytes, module: ModuleType):
        """The checker's answer for `data`, written like the config into a private temp folder
        (None: the checker is not installed here), with the argv and the temp file's name."""
        with tempfile.TemporaryDirectory(prefix="travelsync-check-") as folder:
            temp = Path(folder) / Path(config.real_path).name
            handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                os.fchmod(out.fileno(), config.mode)
                _copy_owner(out.fileno(), config.real_path)
            argv = module.validate_argv(temp)
            try:
                done = self.run(argv, timeout=CHECK_TIMEOUT)
            except process.ProgramMissing:
                done = None
            if done is not None and done.returncode == 127:
                done = None  # a reader script whose client is missing
            return done, argv, str(temp)

    def replace(self, config: ConfigFile, data: bytes) -> None:
        current = Path(config.real_path).read_bytes()
        if current != config.data:
            raise MailRefused(f"{config.display}: changed while travelsync was working; nothing changed")
        atomic.atomic_write(config.real_path, data)


def _copy_owner(fd: int, reference: str) -> None:
    info = os.stat(reference)
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)
        except PermissionError:
            pass


def checker_name(module: ModuleType, argv) -> str:
    return getattr(module, "CHECKER", None) or PurePosixPath(argv[0]).name


def neutral(module: ModuleType, data: bytes) -> bytes:
    """The copy the checker reads: the client module's `neutralise` blanks every setting whose
    value is a command (passwordeval, eval, PassCmd, ...), so that no check runs one."""
    neutralise = getattr(module, "neutralise", None)
    return encode(neutralise(decode(data))) if neutralise else data


def judge(run_copy: Callable, config: ConfigFile, data: bytes, module: ModuleType, where: str) -> str | None:
    """Check `data` (the file after keep or revert) with the client's own parser, on a neutralised copy.

    Accepted: the client module's `confirm`, when it has one, compares what the client read with
    travelsync's own reading (a disagreement refuses).  Rejected: the original is checked the same
    way, so the message can tell an edit the client rejects from a file it cannot check here at
    all.  Return None, or a "not checked" note when the checker is not installed; raise MailRefused.
    """
    if not module.validate_argv(PurePosixPath(config.real_path)):
        return None  # no checker for this client: no copy either
    done, argv, temp = run_copy(config, neutral(module, data), module)
    program = checker_name(module, argv)
    if done is None:
        return f"not checked: {program} is not installed {where}"
    if done.ok:
        confirm = getattr(module, "confirm", None)
        problem = confirm(done.stdout.decode("utf-8", "replace"), decode(data)) if confirm else None
        if problem:
            raise MailRefused(f"{config.display}: {program} reads the edited file differently from travelsync "
                              f"({problem}); nothing changed")
        return None
    original, _, original_temp = run_copy(config, neutral(module, config.data), module)
    if original is not None and not original.ok:
        said = _said(original, config, module, original_temp)
        raise MailRefused(f"{config.display}: {program} rejects the file as it is now too, so the change cannot be "
                          f"checked{said}; fix that first (travelsync's check runs no command the file names); "
                          "nothing changed")
    said = _said(done, config, module, temp)
    raise MailRefused(f"{config.display}: {program} rejects the edited file{said}; nothing changed")


def _said(done, config: ConfigFile, module: ModuleType, temp: str) -> str:
    """What the checker said: its last line, or only the line number when its output holds passwords."""
    if getattr(module, "CHECKER_PRINTS_SECRETS", False):
        line = re.search(r":(\d+):", done.stderr.decode("utf-8", "replace"))
        where = f" at line {line.group(1)}" if line else ""
        return f"{where} (exit status {done.returncode})"
    return ": " + done.error_line().replace(temp, config.real_path)


def files_for(location: Location, ssh_config, run: Callable = process.run):
    """LocalFiles, or for `[user@]host:/path` the same interface over ssh (travelsync/mail/remote.py)."""
    if location.is_remote:
        from travelsync.mail.remote import RemoteFiles

        return RemoteFiles(ssh_config, run)
    return LocalFiles(run)


# -- the originals travelsync keeps ------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """What keep replaced: enough to put the file back byte for byte, or undo only our edits."""

    kind: str
    display: str
    original: bytes
    written_sha256: str
    changes: tuple[Change, ...]
    saved_at: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "file": self.display,
                "original_base64": base64.b64encode(self.original).decode(),
                "original_sha256": sha256(self.original), "written_sha256": self.written_sha256,
                "changes": [change_to_json(c) for c in self.changes], "saved_at": self.saved_at}

    @classmethod
    def from_json(cls, data: dict) -> "Saved":
        return cls(data["kind"], data["file"], base64.b64decode(data["original_base64"]), data["written_sha256"],
                   tuple(Change(**c) for c in data["changes"]), data.get("saved_at", ""))


def change_to_json(change: Change) -> dict:
    return {"account": change.account, "setting": change.setting, "before": change.before, "after": change.after}


class Originals:
    """$XDG_STATE_HOME/travelsync/mailer.json: never beside the client's file."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / STATE_FILE

    def _load(self) -> dict:
        """Every record checked (statefiles/mailer.py): DamagedStateFile (exit 2) names the field."""
        from travelsync.statefiles import mailer

        return mailer.load(self.path)

    def get(self, key: str) -> Saved | None:
        entry = self._load()["files"].get(key)
        return Saved.from_json(entry) if entry else None

    def all(self) -> dict[str, Saved]:
        return {k: Saved.from_json(v) for k, v in self._load()["files"].items()}

    def put(self, key: str, saved: Saved) -> None:
        document = self._load()
        document["files"][key] = saved.to_json()
        atomic.atomic_write_json(self.path, document)

    def drop(self, key: str) -> None:
        document = self._load()
        if document["files"].pop(key, None) is not None:
            atomic.atomic_write_json(self.path, document)


# -- diffs --------------------------------------------------------------------------------

_SECRET = re.compile(r"(?i)(\b(?:password|pass|passwd)\b[ \t]*[=:]?[ \t]*)(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"',;:=]+)")


def unified_diff(old: str, new: str, name: str) -> str:
    """The change as `diff -u` shows it, passwords masked (diffs end up in terminals and logs)."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"{name} (now)", tofile=f"{name} (after)")
    out = []
    for line in lines:
        line = _SECRET.sub(lambda m: m.group(1) + "********", line)
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
