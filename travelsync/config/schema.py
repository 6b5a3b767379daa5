"""The configuration schema, and a validator that reports every problem at once.

Pure: it walks PyYAML's node tree (which keeps line and column of every value) and returns
plain values plus a list of problems.  The same declarations generate the documentation
(`travelsync.config.reference`), so the docs cannot drift from what is accepted.
"""

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from travelsync.config.model import WEEKDAYS, ScheduleSpec

INVALID = object()  # a value that failed validation (its problem is already recorded)


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based
    column: int  # 1-based
    keypath: str
    message: str

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}:{self.column}"
        return f"{where}: {self.keypath}: {self.message}" if self.keypath else f"{where}: {self.message}"


class Context:
    def __init__(self, environ=None):
        self.problems: list[Problem] = []
        self.marks: dict[str, tuple[int, int]] = {}
        self.environ = os.environ if environ is None else environ  # whose ~ and $VARS paths use

    def mark(self, path: str, node) -> None:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(self, node, path: str, message: str) -> object:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
        self.problems.append(Problem(line, column, path, message))
        return INVALID


_constructor = yaml.SafeLoader(b"")


def scalar_value(node):
    """The Python value PyYAML would give a scalar node (int, bool, str, None, …)."""
    return _constructor.construct_object(node, deep=True)


def describe(node) -> str:
    """How a found value is named in messages: `the string 'four'`, `a list`, `nothing`."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = scalar_value(node)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the string {str(value)!r}"


class Kind:
    expected = "a value"

    def check(self, node, ctx: Context, path: str):
        raise NotImplementedError

    def wrong(self, node, ctx, path, extra: str = ""):
        return ctx.problem(node, path, f"expected {self.expected}, found {describe(node)}{extra}")


class Str(Kind):
    def __init__(self, expected="a string", pattern: str | None = None, choices: tuple[str, ...] = ()):
        self.expected = expected if not choices else "one of " + ", ".join(choices)
        self.pattern = re.compile(pattern) if pattern else None
        self.choices = choices

    def check(self, node, ctx, path):
        if not isinstance(node, yaml.ScalarNode):
            return self.wrong(node, ctx, path)
        value = scalar_value(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not self.choices:
            value = node.value  # 22 for a host name is a string, not an error
        if not isinstance(value, str) or value == "":
            return self.wrong(node, ctx, path)
        if self.choices and value not in self.choices:
            close = difflib.get_close_matches(value, self.choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return self.wrong(node, ctx, path, hint)
        if self.pattern and not self.pattern.fullmatch(value):
            return self.wrong(node, ctx, path)
        return self.convert(value, node, ctx, path)

    def convert(self, value, node, ctx, path):
        return value


class Int(Kind):
    def __init__(self, minimum: int | None = None, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum
        bounds = []
        if minimum is not None:
            bounds.append(f"≥ {minimum}")
        if maximum is not None:
            bounds.append(f"≤ {maximum}")
        self.expected = "an integer" + (" " + " and ".join(bounds) if bounds else "")

    def check(self, node, ctx, path):
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            return self.wrong(node, ctx, path)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return self.wrong(node, ctx, path)
        return value


class Number(Int):
    def __init__(self, minimum: float | None = None):
        super().__init__(minimum)
        self.expected = "a number" + (f" ≥ {minimum:g}" if minimum is not None else "")

    def check(self, node, ctx, path):
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return self.wrong(node, ctx, path)
        if self.minimum is not None and value < self.minimum:
            return self.wrong(node, ctx, path)
        return float(value)


class Bool(Kind):
    expected = "true or false"

    def check(self, node, ctx, path):
        value = scalar_value(node) if isinstance(node, yaml.ScalarNode) else None
        return value if isinstance(value, bool) else self.wrong(node, ctx, path)


from travelsync.location import expand, home_of  # noqa: E402,F401 (one expansion for every path)


class AbsPath(Str):
    """A local path; `~` and `$VARS` expanded; relative paths are refused (cron has no cwd)."""

    def __init__(self, expected="an absolute path"):
        super().__init__(expected)

    def check(self, node, ctx, path):
        if isinstance(node, yaml.ScalarNode) and node.value == "~" and node.style is None:
            return ctx.problem(node, path, "expected an absolute path, found ~, which YAML reads as null "
                                           "(write \"~\" in quotes, or ~/)")
        return super().check(node, ctx, path)

    def convert(self, value, node, ctx, path):
        expanded = expand(value, ctx.environ)
        if not os.path.isabs(expanded):
            return ctx.problem(node, path, f"expected an absolute path, found the relative path {value!r}"
                                           " (write it from /, or start it with ~)")
        return os.path.normpath(expanded)


class Place(Str):
    """A local absolute path or `[user@]host:/path`."""

    def __init__(self):
        super().__init__("an absolute path or [user@]host:/path")

    def convert(self, value, node, ctx, path):
        from travelsync.location import parse_location

        location = parse_location(value, ctx.environ)
        if not os.path.isabs(location.path) and not (location.is_remote and location.path.startswith("~")):
            return ctx.problem(node, path, f"expected an absolute path or [user@]host:/path, found {value!r}")
        return value if location.is_remote else os.path.normpath(location.path)


class HostPort(Str):
    def __init__(self):
        super().__init__("host:port (an IPv6 literal in brackets: [2001:db8::1]:993)",
                         pattern=r"(\[[0-9A-Fa-f:.%\w]+\]|[^\s:\[\]]+):\d{1,5}")


_SCHEDULE = re.compile(r"(?P<days>daily|(?:mon|tue|wed|thu|fri|sat|sun)(?:,(?:mon|tue|wed|thu|fri|sat|sun))*)"
                       r"\s+(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)")


class ScheduleText(Str):
    def __init__(self):
        super().__init__("a weekday name (or several, comma-separated) or 'daily', then HH:MM, e.g. 'sun 02:30'")

    def convert(self, value, node, ctx, path):
        from travelsync.config.model import ScheduleSpec

        match = _SCHEDULE.fullmatch(value.strip().lower())
        if not match:
            return self.wrong(node, ctx, path)
        days = WEEKDAYS if match["days"] == "daily" else tuple(d for d in WEEKDAYS if d in match["days"].split(","))
        return ScheduleSpec(days, int(match["h"]), int(match["m"]))


class TimeZone(Str):
    def __init__(self):
        super().__init__("an IANA time zone name, e.g. Europe/Berlin")

    def convert(self, value, node, ctx, path):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return self.wrong(node, ctx, path)
        return value


class Nullable(Kind):
    def __init__(self, inner: Kind):
        self.inner = inner
        self.expected = inner.expected + " or null"

    def check(self, node, ctx, path):
        if isinstance(node, yaml.ScalarNode) and scalar_value(node) is None:
            return None
        return self.inner.check(node, ctx, path)


class ListOf(Kind):
    def __init__(self, item: Kind, *, allow_scalar: bool = False):
        self.item = item
        self.allow_scalar = allow_scalar
        self.expected = f"a list, each {item.expected}" if not isinstance(item, Mapping) else "a list of mappings"

    def check(self, node, ctx, path):
        if isinstance(node, yaml.ScalarNode) and scalar_value(node) is None:
            return ()
        if self.allow_scalar and isinstance(node, yaml.ScalarNode):
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", [node], node.start_mark, node.end_mark)
        if not isinstance(node, yaml.SequenceNode):
            return self.wrong(node, ctx, path)
        values = []
        for index, child in enumerate(node.value):
            child_path = f"{path}[{index}]"
            ctx.mark(child_path, child)
            values.append(self.item.check(child, ctx, child_path))
        return tuple(values)


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    doc: str
    default: Any = None
    required: bool = False
    example: Any = None


class Mapping(Kind):
    expected = "a mapping (key: value lines)"

    def __init__(self, *fields: Field, doc: str = ""):
        self.fields = {f.name: f for f in fields}
        self.doc = doc

    def check(self, node, ctx, path):
        if isinstance(node, yaml.ScalarNode) and scalar_value(node) is None:
            node = yaml.MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
        if not isinstance(node, yaml.MappingNode):
            return self.wrong(node, ctx, path)
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_path = f"{path}.{key}" if path else key
            if key in seen:
                ctx.problem(key_node, key_path, "key given twice (the second would silently win)")
                continue
            seen.add(key)
            spec = self.fields.get(key)
            if spec is None:
                close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(self.fields)}"
                ctx.problem(key_node, key_path, f"unknown key {key!r}{hint}")
                continue
            ctx.mark(key_path, value_node)
            values[key] = spec.kind.check(value_node, ctx, key_path)
        for name, spec in self.fields.items():
            if name in values:
                continue
            if spec.required:
                where = f"in {path}" if path else "at the top level"
                ctx.problem(node, f"{path}.{name}" if path else name, f"missing required key {name!r} {where}")
                values[name] = INVALID
            elif isinstance(spec.kind, Mapping):
                values[name] = spec.kind.check(None_node(node), ctx, f"{path}.{name}" if path else name)
            else:
                values[name] = spec.default
        return values


def None_node(near):
    return yaml.ScalarNode("tag:yaml.org,2002:null", "", near.start_mark, near.end_mark)


MAILER_KINDS = ("fetchmail", "getmail", "thunderbird", "mpop", "mutt", "claws", "evolution", "kmail", "mbsync",
                "offlineimap")
TUNNEL_KINDS = ("gogoc", "6in4", "teredo", "wireguard", "tun")

SCHEMA = Mapping(
    Field("repository", Place(), "Where snapshots are kept: a local folder, a mounted NAS, or [user@]host:/path over ssh.",
          required=True, example="/srv/backup/travelsync"),
    Field("ssh", Mapping(
        Field("port", Int(1, 65535), "ssh port for every [user@]host:path location.", 22),
        Field("identity", Nullable(AbsPath()), "Private key file (`-i`).", None, example="~/.ssh/id_ed25519"),
        Field("options", ListOf(Str()), "Extra ssh arguments, e.g. [\"-o\", \"UserKnownHostsFile=~/.ssh/known_hosts\"]. "
              "Host keys are always checked.", ()),
        Field("insecure_host_keys", Bool(), "Allow options that skip host-key checking (StrictHostKeyChecking=no|off, "
              "UserKnownHostsFile=/dev/null), here or in an rsync -e/--rsh; without it they are refused. "
              "StrictHostKeyChecking=accept-new is allowed: it trusts a first key and refuses a changed one.", False),
        Field("connect_timeout", Int(1, 3600), "Seconds ssh waits for a connection (ConnectTimeout).", 15),
        Field("alive_interval", Int(1, 3600), "Seconds of silence before ssh asks the peer whether it lives "
              "(ServerAliveInterval).", 15),
        Field("alive_count", Int(1, 100), "Unanswered asks after which ssh gives up (ServerAliveCountMax): a "
              "silent peer is dead after alive_interval x alive_count seconds.", 4),
        doc="How to reach remote repositories, laptops and mail-client files."), "ssh settings."),
    Field("sources", ListOf(Mapping(
        Field("name", Str("a name of letters, digits, '.', '_' or '-'", pattern=r"[A-Za-z0-9._-]+"),
              "Folder name under a snapshot's data/; laptop paths start with it.", required=True),
        Field("path", AbsPath(), "The folder on home to back up.", required=True, example="/home/marc"),
        Field("exclude", ListOf(Str()), "rsync exclude patterns, relative to the source. The repository and "
              "travelsync's state folder are left out of a source that holds them, automatically (config check "
              "says so); a source inside the repository is refused.", ()),
        Field("one_file_system", Bool(), "Do not cross mount points (rsync -x).", False),
    )), "What home backs up.", required=True),
    Field("exclude_caches", Bool(), "Leave out the contents of every folder holding a valid CACHEDIR.TAG (its first "
          "bytes the spec's signature); the tag itself is kept.", True),
    Field("exclude_if_present", ListOf(Str("a file name (no /)", pattern=r"[^/]+")), "Leave out the contents of "
          "every folder holding a file of one of these names (the file itself is kept).", (), example=[".nobackup"]),
    Field("rsync_filter_files", Bool(), "Honour .rsync-filter files in the sources: each holds rsync filter "
          "rules for its folder and below (rsync -F).", False),
    Field("hooks", Mapping(
        Field("before_backup", ListOf(Str()), "Shell commands run before a backup; one exiting 75 skips the "
              "backup softly (exit 75, \"skipped by hook\"), any other failure fails it.", ()),
        Field("after_backup", ListOf(Str()), "Run after a successful backup (TRAVELSYNC_SNAPSHOT, _KIND set).", ()),
        Field("on_error", ListOf(Str()), "Run when backup, prepare or finalize fails, SIGTERM included "
              "(TRAVELSYNC_EXIT_CODE, _MESSAGE set).", ()),
        Field("before_prepare", ListOf(Str()), "Run before prepare; exit 75 skips it softly.", ()),
        Field("after_finalize", ListOf(Str()), "Run after a successful finalize.", ()),
        Field("timeout", Int(1, 86400), "Seconds each command may take; then its process group is killed and "
              "the hook has failed.", 300),
    ), "Your commands around the runs, with TRAVELSYNC_HOOK, _COMMAND, _REPOSITORY, _SOURCES, _CONFIG set."),
    Field("schedule", Mapping(
        Field("full", ScheduleText(), "When the weekly full backup is due.", ScheduleSpec(("sun",), 2, 30)),
        Field("incremental", ScheduleText(), "When the other (incremental) backups are due.", ScheduleSpec(WEEKDAYS, 2, 30)),
        Field("timezone", Nullable(TimeZone()), "Zone the times are in; default: the machine's local zone.", None),
    ), "When backups are due (one rule for cron, systemd and the daemon)."),
    Field("retention", Mapping(
        Field("full", Int(1), "Keep this many full snapshots, and (with no keep_* key) every incremental newer "
              "than the oldest kept.", 4),
        Field("keep_daily", Int(0), "Keep the newest snapshot of each of this many last days that have one.", 0),
        Field("keep_weekly", Int(0), "… of each of this many last ISO weeks that have one.", 0),
        Field("keep_monthly", Int(0), "… of each of this many last months that have one.", 0),
        Field("keep_yearly", Int(0), "… of each of this many last years that have one.", 0),
        Field("keep_within", Nullable(Str("a duration such as 10d, 2w, 6m, 1y or 36h", pattern=r"(\d+[ymwdh])+")),
              "Keep every snapshot started within this long before the newest one.", None, example="10d"),
    ), "What prune keeps: the last `full` fulls and everything since, or, with any keep_* key, calendar "
       "retention (restic forget, borg prune); a kept incremental keeps its full; the latest, the last full and "
       "a trip's snapshots are always kept."),
    Field("laptop", Mapping(
        Field("host", Str("'local' or [user@]host"), "'local' when travelsync runs on the laptop, else [user@]host.", "local"),
        Field("root", Str("an absolute path", pattern=r"/.*|~.*"), "Home's absolute paths are recreated under this folder.", "/"),
        Field("paths", ListOf(Str("<source name>/<path inside that source>", pattern=r"[^\s/][^\n]*")),
              "What prepare and finalize restore: <source name>/<path inside it>.", (),
              example=["home/Mail", "home/src"]),
        Field("displaced", Str(), "Folder under root where laptop files a restore would overwrite are moved.",
              ".travelsync-displaced"),
    ), "The laptop: restore target for prepare and finalize."),
    Field("mailer", ListOf(Mapping(
        Field("kind", Str(choices=MAILER_KINDS), "Which mail client.", required=True),
        Field("file", Nullable(Place()), "Its configuration file ([user@]host:/path for another machine); "
              "default: the client's usual places.", None),
        Field("accounts", ListOf(Str(), allow_scalar=True), "Only these accounts; default: every POP account.", ()),
    )), "Mail clients switched to keep-on-server for the trip.", ()),
    Field("preflight", Mapping(
        Field("ipv6", Mapping(
            Field("probe", Nullable(HostPort()), "host:port that must answer over IPv6.", None, example="mail.example.org:993"),
            Field("expiry_warning", Int(0), "Warn when a router-advertised default route expires within this many seconds.", 600),
            Field("timeout", Number(0.1), "Seconds for the probe.", 5.0),
            Field("interface", Nullable(Str()), "Only this interface; default: all.", None),
        ), "IPv6 address and default-route health."),
        Field("tunnel", Mapping(
            Field("kind", Nullable(Str(choices=TUNNEL_KINDS)), "Tunnel used when there is no native IPv6.", None),
            Field("interface", Nullable(Str()), "Its interface, e.g. tun, sit1, teredo, wg0.", None),
            Field("start", Nullable(Str()), "Command --fix offers when the tunnel is down.", None,
                  example="gogoc -n -s wlan0"),
        ), "IPv6 tunnel."),
        Field("nat64", Mapping(
            Field("nameserver", Nullable(Str()), "Resolver to ask: IP[:PORT], [IPv6]:PORT or fe80::1%IFACE; default: the system's resolvers.", None),
            Field("domain", Str(), "Name whose AAAA reveals the prefix (RFC 7050).", "ipv4only.arpa"),
            Field("check_server", Nullable(Str()), "IPv4 address for the connectivity check.", None),
            Field("trusted_domains", ListOf(Str()), "Domains trusted for NAT64 FQDN validation.", ()),
            Field("timeout", Number(0.1), "Seconds per DNS query.", 3.0),
        ), "NAT64 prefix discovery."),
        Field("portal", Mapping(
            Field("probe_url", Nullable(Str("an http(s) URL", pattern=r"https?://\S+")), "URL that answers 204 (or "
                  "expect_body) on an open network; never followed when redirected; null: no HTTP probe.",
                  "http://detectportal.firefox.com/success.txt"),
            Field("expect_body", Nullable(Str()), "Body the probe URL answers with 200; null: it must answer 204.",
                  "success"),
            Field("api_url", Nullable(Str("an http(s) URL", pattern=r"https?://\S+")), "An RFC 8908 captive-portal "
                  "API to ask besides those the network announces.", None),
            Field("announced", Bool(), "Ask the RFC 8910 API URIs systemd-networkd and NetworkManager expose.", True),
            Field("timeout", Number(0.1), "Seconds for each HTTP request.", 5.0),
        ), "Captive-portal detection, run before the other checks."),
        Field("mail", Mapping(
            Field("servers", ListOf(HostPort()), "Mail servers (host:port) to reach over TLS on each address "
                  "family; default: the servers in the mailer entries' files. Ports 143, 110, 587 and 25 use "
                  "STARTTLS, the others TLS from the start.", (), example=["imap.example.org:993"]),
            Field("ca_file", Nullable(AbsPath()), "CA certificates (PEM) the servers' certificates are checked "
                  "against; default: the system's.", None),
            Field("timeout", Number(0.1), "Seconds for each connection and TLS handshake.", 5.0),
        ), "Mail servers reached securely over IPv6 and IPv4."),
        Field("timeout", Number(0.1), "Seconds any one check may take.", 15.0),
    ), "Network checks before departure."),
    Field("rsync", Mapping(
        Field("program", Str(), "rsync binary.", "rsync"),
        Field("retries", Int(0), "Retries after a transport failure (rsync exit 10, 12, 30, 35, 255).", 3),
        Field("retry_delay", Number(0), "Seconds before the first retry; doubled each time.", 5.0),
        Field("extra_args", ListOf(Str()), "Extra rsync arguments, after travelsync's own (e.g. --bwlimit=20M; --no-insecure-links always keeps rsync's symlink-race walk, see docs/backup.md).", ()),
    ), "How rsync runs."),
    Field("notify", Mapping(
        Field("command", Nullable(Str()), "Shell command run after a failed backup (outcome in TRAVELSYNC_* variables).", None),
        Field("on_success", Bool(), "Also notify after successful backups.", False),
        Field("url", Nullable(Str("an http(s) URL", pattern=r"https?://\S+")), "Healthchecks-style URL pinged at start, success and failure.", None),
        Field("mail_to", Nullable(Str()), "Mail the outcome through the local sendmail.", None),
    ), "Telling the person when a backup failed."),
)

# Off-site copies (docs/offsite.md): added here, after SCHEMA, so that `keep` is the very
# mapping `retention` is.
SCHEMA.fields["offsite"] = Field("offsite", ListOf(Mapping(
    Field("name", Str("a name of letters, digits, '.', '_' or '-'", pattern=r"[A-Za-z0-9._-]+"),
          "What `offsite sync NAME` and the reports call this copy.", required=True, example="friend"),
    Field("repository", Place(), "Where the copy lives: [user@]host:/path over ssh (the `ssh:` settings), or a "
          "mounted path. A repository of the same format as the main one.", required=True,
          example="marc@friend.example:/srv/travelsync-copy"),
    Field("encryption", Str(choices=("none", "gocryptfs")), "none: a plain copy, browsable and restorable with rsync "
          "alone; gocryptfs: only ciphertext leaves this machine (gocryptfs -reverse), for a host you do not trust.",
          "none"),
    Field("password_command", Nullable(Str()), "With encryption: gocryptfs, the shell command that prints the "
          "password (read from its stdout; never stored, never on a command line).", None,
          example="pass show travelsync"),
    Field("schedule", Nullable(ScheduleText()), "When `schedule run` syncs this copy; default (null): after each "
          "scheduled backup.", None, example="daily 04:00"),
    Field("keep", SCHEMA.fields["retention"].kind, "What the copy keeps (the keys of `retention:`), applied after "
          "each sync."),
    Field("warn_after", Str("a duration such as 36h, 2d or 1w", pattern=r"(\d+[ymwdh])+"), "`status` and the "
          "notifications warn when the copy's newest snapshot is older than this.", "2d"),
)), "Copies of the repository off the premises (3-2-1), each synced by `offsite sync`.", ())


def validate(root, environ=None) -> tuple[dict, Context]:
    """Given a composed YAML node (or None for an empty file), return (values, context).
    `environ`: the environment whose HOME and variables `~` and `$VAR` in paths mean."""
    ctx = Context(environ)
    if root is None:
        ctx.problems.append(Problem(1, 1, "", "the file is empty; expected a mapping with at least "
                                              "'repository' and 'sources'"))
        return {}, ctx
    values = SCHEMA.check(root, ctx, "")
    if values is INVALID:
        return {}, ctx
    _check_relations(values, ctx)
    return values, ctx


def _check_relations(values: dict, ctx: Context) -> None:
    """Rules that span keys: unique source names, laptop paths that name a source."""
    _check_host_keys(values, ctx)
    _check_sources_outside_repository(values, ctx)
    _check_offsite(values, ctx)
    sources = values.get("sources")
    names: list[str] = []
    if isinstance(sources, tuple):
        for index, source in enumerate(sources):
            if not isinstance(source, dict) or source.get("name") in (None, INVALID):
                continue
            name = source["name"]
            if name in names:
                line, column = ctx.marks.get(f"sources[{index}].name", (1, 1))
                ctx.problems.append(Problem(line, column, f"sources[{index}].name",
                                            f"duplicate source name {name!r} (names must be unique)"))
            names.append(name)
    laptop = values.get("laptop")
    if isinstance(laptop, dict) and isinstance(laptop.get("paths"), tuple) and names:
        for index, text in enumerate(laptop["paths"]):
            if text is INVALID:
                continue
            path = f"laptop.paths[{index}]"
            line, column = ctx.marks.get(path, (1, 1))
            head, _, rest = text.strip("/").partition("/")
            parts = rest.split("/")
            if head not in names:
                close = difflib.get_close_matches(head, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; sources are: {', '.join(names)}"
                ctx.problems.append(Problem(line, column, path, f"{text!r} names no source{hint}"))
            elif ".." in parts:
                ctx.problems.append(Problem(line, column, path, f"{text!r} climbs out of its source with '..'"))


def _check_host_keys(values: dict, ctx: Context) -> None:
    """ssh options (or an rsync remote shell) that turn host-key checking off, unless allowed."""
    from travelsync.config.host_keys import rsh_bypasses, ssh_bypasses

    ssh, rsync = values.get("ssh"), values.get("rsync")
    if not isinstance(ssh, dict) or ssh.get("insecure_host_keys") is True:
        return
    found = []
    if isinstance(ssh.get("options"), tuple) and INVALID not in ssh["options"]:
        found += [(f"ssh.options[{index}]", why) for index, why in ssh_bypasses(ssh["options"])]
    if isinstance(rsync, dict) and isinstance(rsync.get("extra_args"), tuple) and INVALID not in rsync["extra_args"]:
        found += [(f"rsync.extra_args[{index}]", why) for index, why in rsh_bypasses(rsync["extra_args"])]
    for path, why in found:
        line, column = ctx.marks.get(path, (1, 1))
        ctx.problems.append(Problem(line, column, path, f"{why}: travelsync checks host keys, or anyone on the "
                                    "network path could pose as the host; use StrictHostKeyChecking=accept-new "
                                    "(trusts a first key only) or add the key with ssh once, or set "
                                    "ssh.insecure_host_keys: true to accept the risk"))


def _check_sources_outside_repository(values: dict, ctx: Context) -> None:
    """A source inside a local repository (or the repository itself) would back snapshots up."""
    from travelsync.config.self_exclude import inside, real
    from travelsync.location import parse_location

    repository, sources = values.get("repository"), values.get("sources")
    if not isinstance(repository, str) or parse_location(repository).is_remote or not isinstance(sources, tuple):
        return
    for index, source in enumerate(sources):
        if not isinstance(source, dict) or not isinstance(source.get("path"), str):
            continue
        if inside(source["path"], repository):
            path = f"sources[{index}].path"
            line, column = ctx.marks.get(path, (1, 1))
            where = "is the repository" if real(source["path"]) == real(repository) else "is inside the repository"
            ctx.problems.append(Problem(line, column, path, f"{source['path']} {where} {repository}: "
                                        "it would back up the snapshots themselves"))


def _check_offsite(values: dict, ctx: Context) -> None:
    """Off-site copies: unique names, not the repository itself, a password command exactly
    when encrypted."""
    copies = values.get("offsite")
    if not isinstance(copies, tuple):
        return
    names = []

    def problem(index: int, key: str, message: str) -> None:
        path = f"offsite[{index}].{key}" if key else f"offsite[{index}]"
        line, column = ctx.marks.get(path, ctx.marks.get(f"offsite[{index}]", (1, 1)))
        ctx.problems.append(Problem(line, column, path, message))

    for index, copy in enumerate(copies):
        if not isinstance(copy, dict):
            continue
        name = copy.get("name")
        if isinstance(name, str):
            if name in names:
                problem(index, "name", f"duplicate off-site name {name!r} (names must be unique)")
            names.append(name)
        if isinstance(copy.get("repository"), str) and copy["repository"] == values.get("repository"):
            problem(index, "repository", "is the repository itself; an off-site copy must live elsewhere")
        elif isinstance(copy.get("repository"), str):
            _check_copy_outside_sources(copy["repository"], values.get("sources"), index, problem)
        encryption, command = copy.get("encryption"), copy.get("password_command")
        if encryption == "gocryptfs" and command is None:
            problem(index, "", "encryption: gocryptfs needs password_command (a command that prints the password)")
        elif encryption == "none" and isinstance(command, str):
            problem(index, "password_command", "is only used with encryption: gocryptfs; this copy is not "
                                               "encrypted (set encryption: gocryptfs, or remove the line)")


def _check_copy_outside_sources(repository: str, sources, index: int, problem) -> None:
    """A local copy inside a source would be backed up into the repository, and copied again."""
    from travelsync.config.self_exclude import inside
    from travelsync.location import parse_location

    if parse_location(repository).is_remote or not isinstance(sources, tuple):
        return
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("path"), str) and inside(repository, source["path"]):
            problem(index, "repository", f"{repository} is inside source {source.get('name')!r} "
                                         f"({source['path']}): the backups would hold the copy")
            return
