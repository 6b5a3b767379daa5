"""The validated configuration: typed, immutable, every default filled in.

Built only by `travelsync.config.load`; the rest of travelsync reads these objects and never
the YAML.
"""

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from travelsync.location import Location

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SshConfig:
    port: int = 22
    identity: Path | None = None
    options: tuple[str, ...] = ()
    connect_timeout: int = 15  # seconds
    alive_interval: int = 15  # seconds of silence before a keep-alive ask
    alive_count: int = 4  # unanswered asks: a silent peer is dead after ~60 s
    insecure_host_keys: bool = False  # options that skip host-key checking were allowed explicitly

    @property
    def silence_limit(self) -> int:
        """Seconds after which a peer that stopped answering is given up."""
        return self.alive_interval * self.alive_count


@dataclass(frozen=True)
class LeftOut:
    """A folder of travelsync's own inside a source, excluded from its backup automatically."""

    path: str  # absolute
    what: str  # "the repository" | "travelsync's state folder"
    rule: str  # the rsync exclude rule, anchored at the source root: /rel/path/


@dataclass(frozen=True)
class Source:
    name: str
    path: Path
    exclude: tuple[str, ...] = ()
    one_file_system: bool = False
    left_out: tuple[LeftOut, ...] = ()  # the repository and the state folder, when inside
    filters: tuple[str, ...] = ()  # rsync arguments for tagged folders, found at backup time (backup/cache_tags.py)

    @property
    def excludes(self) -> tuple[str, ...]:
        """Every exclude rule rsync gets: the user's, then travelsync's own folders."""
        return self.exclude + tuple(entry.rule for entry in self.left_out)


@dataclass(frozen=True)
class ScheduleSpec:
    """`sun 02:30` → days=("sun",); `daily 02:30` → all seven days."""

    days: tuple[str, ...]
    hour: int
    minute: int

    @property
    def text(self) -> str:
        day = "daily" if len(self.days) == 7 else ",".join(self.days)
        return f"{day} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class Schedule:
    full: ScheduleSpec = ScheduleSpec(("sun",), 2, 30)
    incremental: ScheduleSpec = ScheduleSpec(WEEKDAYS, 2, 30)
    timezone: str | None = None  # None: the machine's local zone


@dataclass(frozen=True)
class Hooks:
    """Shell commands around backup, prepare and finalize (travelsync/hooks.py)."""
    before_backup: tuple[str, ...] = ()
    after_backup: tuple[str, ...] = ()
    on_error: tuple[str, ...] = ()
    before_prepare: tuple[str, ...] = ()
    after_finalize: tuple[str, ...] = ()
    timeout: int = 300  # seconds each command may take


@dataclass(frozen=True)
class Retention:
    """What prune keeps (repository/retention.py): `full` alone is the original rule; any
    keep_* switches to calendar retention."""
    full: int = 4
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_within: str | None = None  # 10d, 2w, 6m, 1y, 36h


@dataclass(frozen=True)
class Laptop:
    host: str | None = None  # None: this machine ("local")
    user: str | None = None
    root: str = "/"
    paths: tuple[str, ...] = ()
    displaced: str = ".travelsync-displaced"

    @property
    def location(self) -> Location:
        return Location(self.root, self.host, self.user)


@dataclass(frozen=True)
class MailerEntry:
    kind: str
    file: str | None = None  # a local path or [user@]host:/path; None: the usual places
    accounts: tuple[str, ...] = ()  # empty: every POP account in the file


@dataclass(frozen=True)
class Ipv6Check:
    probe: str | None = None  # host:port reached over IPv6
    expiry_warning: int = 600  # seconds: an RA route closer to expiry than this warns
    timeout: float = 5.0
    interface: str | None = None  # None: every interface with a default route


@dataclass(frozen=True)
class TunnelCheck:
    kind: str | None = None  # gogoc | 6in4 | teredo | wireguard | tun | None
    interface: str | None = None
    start: str | None = None  # command offered by --fix when the tunnel is down


@dataclass(frozen=True)
class Nat64Check:
    nameserver: str | None = None  # None: the system's resolvers
    domain: str = "ipv4only.arpa"
    check_server: str | None = None
    trusted_domains: tuple[str, ...] = ()
    timeout: float = 3.0


@dataclass(frozen=True)
class PortalCheck:
    probe_url: str | None = "http://detectportal.firefox.com/success.txt"  # None: no HTTP probe
    expect_body: str | None = "success"  # None: the probe must answer 204
    api_url: str | None = None  # an RFC 8908 API asked besides the announced ones
    announced: bool = True  # read the RFC 8910 URIs systemd-networkd / NetworkManager expose
    timeout: float = 5.0


@dataclass(frozen=True)
class MailCheck:
    servers: tuple[str, ...] = ()  # host:port; empty: the hosts in the mailer entries' files
    ca_file: str | None = None  # None: the system's CAs
    timeout: float = 5.0


@dataclass(frozen=True)
class Preflight:
    ipv6: Ipv6Check = Ipv6Check()
    tunnel: TunnelCheck = TunnelCheck()
    nat64: Nat64Check = Nat64Check()
    timeout: float = 15.0
    portal: PortalCheck = PortalCheck()
    mail: MailCheck = MailCheck()


@dataclass(frozen=True)
class RsyncSettings:
    program: str = "rsync"
    retries: int = 3  # transport failures (10, 12, 30, 35, 255) retried this often
    retry_delay: float = 5.0  # seconds, doubled after each failed try
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notify:
    command: str | None = None
    on_success: bool = False
    url: str | None = None  # Healthchecks-style: pinged at start, /fail, success
    mail_to: str | None = None


@dataclass(frozen=True)
class OffsiteCopy:
    """One `offsite:` entry: a second repository of the same format, off the premises."""

    name: str
    repository: Location
    encryption: str = "none"  # none | gocryptfs
    password_command: str | None = None
    schedule: ScheduleSpec | None = None  # None: after each scheduled backup
    keep: Retention = Retention()
    warn_after: str = "2d"


@dataclass(frozen=True)
class Config:
    repository: Location
    sources: tuple[Source, ...]
    ssh: SshConfig = SshConfig()
    schedule: Schedule = Schedule()
    retention: Retention = Retention()
    laptop: Laptop = Laptop()
    mailer: tuple[MailerEntry, ...] = ()
    preflight: Preflight = Preflight()
    rsync: RsyncSettings = RsyncSettings()
    notify: Notify = Notify()
    exclude_caches: bool = True  # backup/cache_tags.py
    exclude_if_present: tuple[str, ...] = ()
    rsync_filter_files: bool = False  # rsync -F: .rsync-filter files in the sources
    hooks: Hooks = Hooks()
    offsite: tuple[OffsiteCopy, ...] = ()
    source_file: Path | None = field(default=None, compare=False)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def split_laptop_path(self, laptop_path: str) -> tuple[Source, PurePosixPath]:
        """`home/Mail` → (the source named home, Path('Mail')). Validated at load time."""
        name, _, rest = laptop_path.strip("/").partition("/")
        return self.source(name), PurePosixPath(rest)
