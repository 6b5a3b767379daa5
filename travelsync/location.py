"""Places travelsync reads and writes: a local path, or `[user@]host:/path` reached over ssh.

Pure parsing and argument building; running ssh is the caller's job (through process.run).
"""

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

# Like rsync: a colon before the first slash makes it remote ("host:/p", "user@host:/p").
_REMOTE = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>\[[0-9A-Fa-f:.%\w]+\]|[^@/:\s\[\]]+):(?P<path>.*)$")


@dataclass(frozen=True)
class Location:
    path: str
    host: str | None = None  # None: this machine
    user: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.host is not None

    @property
    def ssh_target(self) -> str:
        """`user@host` for ssh (brackets of an IPv6 literal removed)."""
        host = (self.host or "").strip("[]")
        return f"{self.user}@{host}" if self.user else host

    def rsync_spec(self, subpath: str = "", *, trailing_slash: bool = False) -> str:
        """The argument rsync understands: `path` locally, `user@host:path` remotely."""
        full = str(PurePosixPath(self.path) / subpath) if subpath else self.path
        if trailing_slash and not full.endswith("/"):
            full += "/"
        return f"{self.ssh_target_for_rsync}:{full}" if self.is_remote else full

    @property
    def ssh_target_for_rsync(self) -> str:
        return f"{self.user}@{self.host}" if self.user else str(self.host)

    def child(self, *parts: str) -> "Location":
        joined = "/".join((self.path, *parts)) if parts else self.path
        if "//" in joined or "/./" in joined or joined.endswith(("/", "/.")) or joined.startswith("./") \
                or joined == ".":  # what PurePosixPath would rewrite: let it tidy
            joined = str(PurePosixPath(self.path, *parts))
        return Location(joined, self.host, self.user)

    def __str__(self) -> str:
        return f"{self.ssh_target_for_rsync}:{self.path}" if self.is_remote else self.path


def parse_location(text: str, environ=None) -> Location:
    """`/srv/backup` → local; `marc@nas:/srv/backup` or `nas:/srv/backup` → remote.

    `~` and `$VARS` are expanded in local paths only (a remote `~` is the remote user's), in
    `environ` (default: ours): the schedule resolves a configuration as its run will.
    """
    match = _REMOTE.match(text)
    if match and not text.startswith(("/", "./", "~")):
        return Location(match.group("path"), match.group("host"), match.group("user"))
    return Location(expand(text, environ))


def parse_host(text: str) -> tuple[str | None, str | None]:
    """`local` → (None, None); `[user@]host` → (host, user)."""
    if text in ("local", "localhost-direct", ""):
        return None, None
    user, _, host = text.rpartition("@")
    return host, (user or None)


def ssh_argv(ssh, target: str | None = None) -> list[str]:
    """The ssh command line for the `ssh:` configuration (port, identity, extra options).

    Host keys stay checked: travelsync never adds StrictHostKeyChecking=no. BatchMode keeps
    cron from hanging on a password prompt.
    """
    argv = ["ssh", "-o", "BatchMode=yes"]
    if ssh is not None:
        # A silent peer (dead Wi-Fi, a sleeping NAS) must end the command, not hang it: ssh
        # gives up after connect_timeout, or alive_interval x alive_count s without an answer.
        argv += ["-o", f"ConnectTimeout={ssh.connect_timeout}", "-o", f"ServerAliveInterval={ssh.alive_interval}",
                 "-o", f"ServerAliveCountMax={ssh.alive_count}"]
        if ssh.port and ssh.port != 22:
            argv += ["-p", str(ssh.port)]
        if ssh.identity:
            argv += ["-i", str(ssh.identity)]
        argv += [os.path.expanduser(o) if o.startswith("~") or "=~" in o else o for o in ssh.options]
        argv = [a.replace("=~/", "=" + os.path.expanduser("~/")) for a in argv]
    if target:
        argv.append(target)
    return argv


def rsync_rsh(ssh) -> str:
    """The `-e` value for rsync: the same ssh command, quoted for rsync's own splitting."""
    return " ".join(shlex.quote(a) for a in ssh_argv(ssh))


def remote_shell_command(*argv: str) -> str:
    """A command for the remote shell, every argument quoted (names with spaces, `-`, `:`)."""
    return " ".join(shlex.quote(a) for a in argv)


_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


def home_of(environ) -> str:
    """$HOME of `environ`, else the home in the password database of the user running this."""
    import pwd

    return environ.get("HOME") or pwd.getpwuid(os.geteuid()).pw_dir


def expand(text: str, environ=None) -> str:
    """`~`, `~user` and `$VAR`/`${VAR}` as a shell would expand them in `environ` (default: ours),
    so a schedule can resolve a configuration as the user and environment that will run it."""
    import pwd

    environ = os.environ if environ is None else environ
    if text.startswith("~"):
        name, slash, rest = text[1:].partition("/")
        try:
            home = home_of(environ) if not name else pwd.getpwnam(name).pw_dir
        except KeyError:  # ~nobody-known: left as written (then refused as a relative path)
            home = None
        if home is not None:
            text = (home.rstrip("/") + slash + rest) or "/"

    def variable(match):
        name = match[1].strip("{}")
        return environ.get(name, match[0])

    return _VARIABLE.sub(variable, text)
