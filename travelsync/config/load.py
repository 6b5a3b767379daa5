"""Read a configuration file into a `Config`, or raise ConfigError listing every problem."""

import os
from pathlib import Path

import yaml

from travelsync.config.model import (Config, Hooks, Ipv6Check, Laptop, LeftOut, MailerEntry, MailCheck, Nat64Check, Notify, OffsiteCopy, PortalCheck, Preflight,
                                     Retention, RsyncSettings, Schedule, Source, SshConfig, TunnelCheck)
from travelsync.config.schema import INVALID, validate
from travelsync.config.self_exclude import anchored_rule
from travelsync.errors import ConfigError
from travelsync.location import parse_host, parse_location
from travelsync.paths import state_dir


def load_config(path, environ=None) -> Config:
    """Given a path, return the validated Config. Raise ConfigError (exit 2) naming file and line.
    `environ` (default: ours): whose HOME, variables and state folder the paths resolve against."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no configuration file here", hint="create one with `travelsync init`")
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file")
    except PermissionError:
        raise ConfigError(f"{path}: cannot read it (permission denied)")
    return parse_config(text, str(path), environ)


def parse_config(text: bytes | str, filename: str = "<config>", environ=None) -> Config:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{filename}: not UTF-8 text (byte {error.start})")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (error.context, error.problem) if p)
        raise ConfigError(f"{filename}:{line}:{column}: YAML syntax error: {what}")
    except yaml.YAMLError as error:
        raise ConfigError(f"{filename}: YAML error: {error}")
    environ = os.environ if environ is None else environ
    values, ctx = validate(root, environ)
    if ctx.problems:
        lines = [p.format(filename) for p in sorted(ctx.problems, key=lambda p: (p.line, p.column))]
        count = len(lines)
        head = lines[0] if count == 1 else f"{filename}: {count} problems"
        raise ConfigError(head if count == 1 else head + "\n" + "\n".join(lines), problems=lines)
    config = build(values, environ)
    return Config(**{**config.__dict__, "source_file": Path(filename)})


def build(v: dict, environ) -> Config:
    """Turn validated plain values into the immutable model (no checks left to do here)."""
    assert all(x is not INVALID for x in v.values())
    repository = parse_location(v["repository"], environ)
    ssh = SshConfig(v["ssh"]["port"], Path(v["ssh"]["identity"]) if v["ssh"]["identity"] else None,
                    tuple(v["ssh"]["options"]), v["ssh"]["connect_timeout"], v["ssh"]["alive_interval"],
                    v["ssh"]["alive_count"], v["ssh"]["insecure_host_keys"])
    own = {} if repository.is_remote else {repository.path: "the repository"}
    own[str(state_dir(environ))] = "travelsync's state folder"
    sources = tuple(Source(s["name"], Path(s["path"]), tuple(s["exclude"]), s["one_file_system"],
                           left_out(s["path"], own)) for s in v["sources"])
    sched = v["schedule"]
    laptop = v["laptop"]
    host, user = parse_host(laptop["host"])
    root = laptop["root"]
    if host is None:
        root = parse_location(root, environ).path
    pre = v["preflight"]
    return Config(
        repository=repository,
        sources=sources,
        ssh=ssh,
        schedule=Schedule(sched["full"], sched["incremental"], sched["timezone"]),
        retention=Retention(**v["retention"]),
        laptop=Laptop(host, user, root, tuple(p.strip("/") for p in laptop["paths"]), laptop["displaced"]),
        mailer=tuple(MailerEntry(m["kind"], m["file"], tuple(m["accounts"])) for m in v["mailer"]),
        preflight=Preflight(Ipv6Check(**pre["ipv6"]), TunnelCheck(**pre["tunnel"]),
                            Nat64Check(**{**pre["nat64"], "trusted_domains": tuple(pre["nat64"]["trusted_domains"])}),
                            pre["timeout"], PortalCheck(**pre["portal"]),
                            MailCheck(**{**pre["mail"], "servers": tuple(pre["mail"]["servers"])})),
        rsync=RsyncSettings(v["rsync"]["program"], v["rsync"]["retries"], v["rsync"]["retry_delay"],
                            tuple(v["rsync"]["extra_args"])),
        notify=Notify(**v["notify"]),
        exclude_caches=v["exclude_caches"], exclude_if_present=tuple(v["exclude_if_present"]),
        rsync_filter_files=v["rsync_filter_files"],
        hooks=Hooks(**{k: tuple(x) if isinstance(x, list) else x for k, x in v["hooks"].items()}),
        offsite=tuple(OffsiteCopy(o["name"], parse_location(o["repository"], environ), o["encryption"],
                                  o["password_command"], o["schedule"], Retention(**o["keep"]), o["warn_after"])
                      for o in v.get("offsite", ())),
    )


def left_out(source_path: str, own: dict[str, str]) -> tuple[LeftOut, ...]:
    """travelsync's folders (`own`: path → what it is) inside this source, with their rules."""
    found = []
    for path, what in own.items():
        rule = anchored_rule(path, source_path)
        if rule is not None:
            found.append(LeftOut(path, what, rule))
    return tuple(found)


def resolved(config: Config) -> dict:
    """The configuration as plain data for `config check` (secrets masked)."""
    from dataclasses import asdict, is_dataclass

    def plain(value):
        if is_dataclass(value):
            return {k: plain(x) for k, x in asdict(value).items()}
        if isinstance(value, dict):
            return {k: plain(x) for k, x in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(x) for x in value]
        if isinstance(value, Path):
            return str(value)
        return value

    data = {
        "file": str(config.source_file) if config.source_file else None,
        "repository": str(config.repository),
        "ssh": plain(config.ssh),
        "sources": plain(config.sources),
        "schedule": {"full": config.schedule.full.text, "incremental": config.schedule.incremental.text,
                     "timezone": config.schedule.timezone},
        "retention": plain(config.retention),
        "exclude_caches": config.exclude_caches, "exclude_if_present": list(config.exclude_if_present),
        "rsync_filter_files": config.rsync_filter_files,
        "hooks": plain(config.hooks),
        "laptop": {"host": (f"{config.laptop.user}@" if config.laptop.user else "") + (config.laptop.host or "local"),
                   "root": config.laptop.root, "paths": list(config.laptop.paths),
                   "displaced": config.laptop.displaced},
        "mailer": plain(config.mailer),
        "preflight": plain(config.preflight),
        "rsync": plain(config.rsync),
        "notify": plain(config.notify),
        "offsite": [{"name": o.name, "repository": str(o.repository), "encryption": o.encryption,
                     "password_command": o.password_command, "schedule": o.schedule.text if o.schedule else None,
                     "keep": plain(o.keep), "warn_after": o.warn_after} for o in config.offsite],
    }
    if data["notify"]["url"]:
        data["notify"]["url"] = mask_url(data["notify"]["url"])
    return data


def mask_url(url: str) -> str:
    """Keep scheme and host; the path of a ping URL is its secret."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/****"
