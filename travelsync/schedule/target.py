"""Whose schedule: a configuration runs as the user who owns the file, wherever it is installed.

`sudo travelsync schedule install` used to write a root crontab or a unit without `User=`:
the backup then ran as root with HOME=/root, so `~` in the config meant /root (and root ran a
file another user can edit, hooks and notify command included). Now the owner of the config
file is the account the schedule runs as: their crontab, or a system unit with `User=`, and the
config is resolved in the environment that cron or systemd gives that account.
"""

import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from travelsync.errors import ConfigError, UsageError

SERVICE = "travelsync-backup.service"
TIMER = "travelsync-backup.timer"
SYSTEM_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    home: str
    shell: str

    @classmethod
    def of_uid(cls, uid: int) -> "Account":
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            raise UsageError(f"user id {uid} has no entry in the password database, so no home to run in")
        return cls(entry.pw_name, entry.pw_uid, entry.pw_dir, entry.pw_shell or "/bin/sh")

    def scheduled_environ(self) -> dict[str, str]:
        """The environment cron and systemd (User=) give a job of this account: HOME and the
        names from the password database, a minimal PATH, nothing else of ours."""
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name, "SHELL": self.shell,
                "PATH": "/usr/local/bin:/usr/bin:/bin"}


def config_owner(config_path: Path, environ) -> Account:
    """The account owning the configuration file. A missing file under sudo gets a hint: the
    default path is then root's, not the invoking user's."""
    try:
        uid = os.stat(config_path).st_uid
    except FileNotFoundError:
        hint = "create one with `travelsync init`"
        if os.geteuid() == 0 and environ.get("SUDO_USER"):
            user = environ["SUDO_USER"]
            hint = (f"under sudo this is root's configuration path; for {user}'s pass "
                    f"--config ~{user}/.config/travelsync/config.yaml (the schedule then runs as {user})")
        raise ConfigError(f"{config_path}: no configuration file here", hint=hint)
    return Account.of_uid(uid)


@dataclass(frozen=True)
class Target:
    """Where a schedule goes and whom it runs as."""

    front: str  # "cron" | "systemd"
    account: Account  # the owner of the config: the schedule runs as this user
    user_manager: bool = False  # systemd --user (the invoker's own user manager)
    crontab_user: str | None = None  # `crontab -u NAME`: root writing another user's crontab
    directory: Path | None = None  # where the units go (systemd)

    @property
    def service(self) -> str:
        return SERVICE if self.user_manager or self.account.uid == 0 else f"travelsync-backup-{self.account.name}.service"

    @property
    def timer(self) -> str:
        return self.service[: -len(".service")] + ".timer"

    @property
    def run_as(self) -> str | None:
        """`User=` of a system unit (None for a user unit, which runs as its manager's user)."""
        return None if self.user_manager else self.account.name


def user_unit_dir(environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME")
    base = Path(base) if base and os.path.isabs(base) else Path(environ.get("HOME") or Path.home()) / ".config"
    return base / "systemd" / "user"


def choose(front: str, user_manager: bool, invoker_uid: int, account: Account, config_path, environ) -> Target:
    """The target for `schedule install|uninstall`, or UsageError (exit 2) when the invoker may not
    install for the config's owner, or when --user would put it in the wrong user's manager."""
    if invoker_uid not in (0, account.uid):
        raise UsageError(f"{config_path} belongs to {account.name}: a schedule runs a configuration as its "
                         f"owner, so install it as {account.name} (or as root)")
    if front == "cron":
        return Target("cron", account, crontab_user=account.name if invoker_uid == 0 else None)
    if user_manager:
        if invoker_uid != account.uid:
            raise UsageError(f"--user installs into your own user manager, but {config_path} belongs to "
                             f"{account.name}", hint=f"run it as {account.name} without sudo, or leave out --user "
                             f"for a system unit with User={account.name}")
        return Target("systemd", account, user_manager=True, directory=user_unit_dir(environ))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", account.name):
        raise UsageError(f"user name {account.name!r} cannot be part of a unit name", hint="use --cron")
    return Target("systemd", account, directory=SYSTEM_DIR)
