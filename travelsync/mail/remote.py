"""A mail client's config file on another machine (`[user@]host:/path`): three shipped programs
(travelsync/resources/remote/mail-read.sh, mail-check.sh, mail-put.sh) run there through the
run's shared ssh connection (host keys checked), each answered by its exit code, named below,
and read by the one parser beside it.  A unit test runs the same files here with `sh`.

Every program starts with `umask 077`: the temp copies holding the passwords are 0600 from
their first byte, whatever the ssh session's umask; `chmod --reference` then gives a copy the
mode of the file it stands for.  The file is read with `cat`, edited here, written to a temp
file beside it there and renamed there, only if it still holds what was read.
"""

import secrets
from enum import IntEnum
from pathlib import PurePosixPath
from types import ModuleType
from typing import Callable

from travelsync import process
from travelsync.location import Location, remote_shell_command, ssh_argv
from travelsync.mail.apply import CHECK_TIMEOUT, ConfigFile, MailRefused, judge

SSH_FAILED = 255  # ssh's own status: it could not connect, or the connection broke


# -- mail-read.sh ------------------------------------------------------------------------------


class ReadExit(IntEnum):
    OK = 0
    MISSING = 80
    DANGLING = 81
    DIRECTORY = 82
    SPECIAL = 83
    UNREADABLE = 84


READ_PROBLEMS = {ReadExit.MISSING: "no such file", ReadExit.DANGLING: "a symlink to a missing file",
                 ReadExit.DIRECTORY: "is a directory, not a mail client's config file",
                 ReadExit.SPECIAL: "not a regular file", ReadExit.UNREADABLE: "cannot read it"}


def read_answer(location: Location, done) -> ConfigFile:
    """mail-read.sh's answer → the file as read; MailRefused names what is wrong with it."""
    if done.returncode in READ_PROBLEMS.keys():
        raise MailRefused(f"{location}: {READ_PROBLEMS[ReadExit(done.returncode)]}; nothing changed")
    header, _, data = done.stdout.partition(b"\n")
    words = header.decode("utf-8", "replace").split(" ", 4)
    if words[0] != "travelsync-ok" or len(words) != 5 or not done.ok:
        raise MailRefused(f"{location}: could not read it over ssh ({done.error_line()}); nothing changed")
    mode, folder_mode, writable, real = int(words[1], 8), int(words[2], 8), words[3] == "1", words[4]
    return ConfigFile(location, real, data, mode, writable and bool(folder_mode & 0o222))


# -- mail-check.sh -----------------------------------------------------------------------------


class CheckExit(IntEnum):
    """Besides these, the checker's own status comes back (0: it accepts the text)."""

    NOT_INSTALLED = 127
    NO_COPY = 90
    NO_MODE = 91


def check_answer(config: ConfigFile, done):
    """mail-check.sh's answer → the checker's result, or None when it is not installed there;
    MailRefused when no copy could be made to check."""
    if done.returncode == CheckExit.NOT_INSTALLED:
        return None
    if done.returncode in (CheckExit.NO_COPY, CheckExit.NO_MODE):
        raise MailRefused(f"{config.display}: cannot write a temp copy to check in /tmp on "
                          f"{config.location.host}; nothing changed")
    return done


# -- mail-put.sh -------------------------------------------------------------------------------


class PutExit(IntEnum):
    OK = 0
    NO_TEMP = 90
    NO_MODE = 91
    CHANGED = 92
    NO_RENAME = 93


def put_answer(config: ConfigFile, done) -> None:
    """mail-put.sh's answer: None when replaced; MailRefused otherwise (the file is as it was)."""
    if done.returncode == PutExit.OK:
        return
    if done.returncode == PutExit.CHANGED:
        raise MailRefused(f"{config.display}: changed while travelsync was working; nothing changed")
    raise MailRefused(f"{config.display}: could not replace it over ssh ({done.error_line()})")


# -- the three together -------------------------------------------------------------------------


class RemoteFiles:
    """Config files on another machine, reached with the `ssh:` settings (host keys checked)."""

    def __init__(self, ssh_config, run: Callable = process.run):
        self.ssh_config = ssh_config
        self.run = run

    def argv(self, location: Location, command: str) -> list[str]:
        """ssh to the file's machine (the run's one connection there), running `command`."""
        from travelsync.shared_ssh import shared

        return ssh_argv(shared(self.ssh_config, location.ssh_target), location.ssh_target) + [command]

    def _program(self, location: Location, name: str, *args: str, input: bytes | None = None):
        from travelsync.resources import remote_program

        command = remote_shell_command("sh", "-c", remote_program(name), "travelsync", *args)
        try:
            done = self.run(self.argv(location, command), input=input, timeout=CHECK_TIMEOUT)
        except process.ProgramMissing:
            raise MailRefused(f"{location}: ssh is not installed here; nothing changed") from None
        if done.returncode == SSH_FAILED:
            raise MailRefused(f"{location}: ssh to {location.ssh_target} failed: {done.error_line()}; "
                              "nothing changed")
        return done

    def read(self, location: Location) -> ConfigFile:
        # ssh starts in the remote home, and a quoted `~` would not expand: `~/x` is just `x` there
        path = location.path[2:] if location.path.startswith("~/") else location.path
        return read_answer(location, self._program(location, "mail-read.sh", path))

    def check(self, config: ConfigFile, data: bytes, module: ModuleType) -> str | None:
        """The local check's twin, run there: a copy in a private folder /tmp/travelsync-check.*."""
        return judge(self._run_copy, config, data, module, f"on {config.location.host}")

    def _run_copy(self, config: ConfigFile, data: bytes, module: ModuleType):
        folder = f"/tmp/travelsync-check.{secrets.token_hex(8)}"
        temp = f"{folder}/{PurePosixPath(config.real_path).name}"
        argv = module.validate_argv(PurePosixPath(temp))
        # the checker's output comes back only for a client module that compares it (never passwords)
        keep_out = "1" if getattr(module, "confirm", None) else "0"
        done = self._program(config.location, "mail-check.sh", folder, config.real_path, temp, keep_out, *argv,
                             input=data)
        return check_answer(config, done), argv, temp

    def replace(self, config: ConfigFile, data: bytes) -> None:
        real = PurePosixPath(config.real_path)
        temp = str(real.parent / f".{real.name}.{secrets.token_hex(4)}.travelsync-tmp")
        put_answer(config, self._program(config.location, "mail-put.sh", config.real_path, temp, config.sha256,
                                         input=data))

