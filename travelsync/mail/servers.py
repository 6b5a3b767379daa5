"""The mail servers named in the mail clients' files: what the preflight mail check reaches.

Pure readers, one per client kind, built on the client modules' own parsers (so a file is
read here as it is for keep/revert); each returns (host, port, protocol, starttls) with the
client's defaults filled in: the port by protocol and TLS setting, and STARTTLS wherever the
file does not ask for TLS from the first byte. Incoming servers, and mutt's smtp_url.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from travelsync.mail.model import MailConfigError

PORTS = {("pop3", False): 110, ("pop3", True): 995, ("imap", False): 143, ("imap", True): 993,
         ("smtp", False): 25, ("smtp", True): 465}
YES = {"1", "yes", "true", "on"}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    protocol: str  # pop3 | imap | smtp
    starttls: bool  # False: TLS from the first byte


def _server(host: str, port, protocol: str, implicit: bool) -> Server:
    """Without TLS from the start the check asks for STARTTLS (the trip needs TLS either way)."""
    port = int(port) if port and str(port).isdigit() else PORTS[(protocol, implicit)]
    return Server(host, port, protocol, not implicit)


def fetchmail(text: str) -> list[Server]:
    """`poll NAME [via HOST] [proto P] [port|service N]`, `ssl` in the entry or its users."""
    from travelsync.mail.clients import fetchmail as client

    found = []
    for entry in client.parse(text):
        if entry.keyword not in ("poll", "server"):
            continue
        words = [t.value for t in entry.tokens] + [t.value for u in entry.users for t in u.tokens]
        lower = [w.lower() for w in words]

        def after(*keys):
            index = max((i for i, w in enumerate(lower) if w in keys), default=None)
            return words[index + 1] if index is not None and index + 1 < len(words) else None

        protocol = "imap" if (after("proto", "protocol") or "").lower() == "imap" else "pop3"
        found.append(_server(after("via") or entry.name, after("port", "service"), protocol, "ssl" in lower))
    return found


def getmail(text: str) -> list[Server]:
    """[retriever] type (…SSLRetriever: TLS from the start), server, port."""
    from travelsync.mail.clients import getmail as client

    sections = client.parse(text)
    retriever = sections.get("retriever", {})
    if "server" not in retriever:
        return []
    kind = retriever["type"].value.lower() if "type" in retriever else ""
    protocol = "imap" if "imap" in kind else "pop3"
    port = retriever["port"].value if "port" in retriever else None
    return [_server(retriever["server"].value, port, protocol, "ssl" in kind)]


def mpop(text: str) -> list[Server]:
    """Each account's `host`, `port`, `tls` and `tls_starttls` (on by default), defaults inherited."""
    from travelsync.mail.clients import mpop as client

    found = []
    for section in client.parse(text):
        if section.kind != "account":
            continue
        settings = {key: line.argument.strip() for key, line in client._settings(section).items()}
        if not settings.get("host"):
            continue
        tls = settings.get("tls", "off").lower() in YES
        starttls = settings.get("tls_starttls", "on").lower() in YES
        found.append(_server(settings["host"], settings.get("port"), "pop3", tls and not starttls))
    return found


def thunderbird(text: str) -> list[Server]:
    """Each incoming server's hostname, port and socketType (3: TLS from the start, 2: STARTTLS)."""
    from travelsync.mail.clients import thunderbird as client

    found = []
    for _, server, default in client._pop_servers(text):
        protocol, host = client._value(server, default, "type"), client._value(server, default, "hostname")
        if protocol not in ("pop3", "imap") or not host:
            continue
        socket_type = client._value(server, default, "socketType")
        found.append(_server(host, client._value(server, default, "port"), protocol, socket_type == "3"))
    return found


def mbsync(text: str) -> list[Server]:
    """IMAPAccount `Host`, `Port`, `SSLType`/`TLSType` (IMAPS: TLS from the start; STARTTLS)."""
    from travelsync.mail.clients import mbsync as client

    found = []
    for section in client.parse(text).sections:
        if section.kind != "imapaccount":
            continue
        host = section.own("Host")
        if host is None:
            continue
        tls = (section.own("TLSType") or section.own("SSLType"))
        tls = tls.words[0].lower() if tls else "starttls"
        port = section.own("Port")
        found.append(_server(host.words[0], port.words[0] if port else None, "imap", tls == "imaps"))
    return found


def offlineimap(text: str) -> list[Server]:
    """Each IMAP repository's `remotehost`, `remoteport`, `ssl` (default yes) and `starttls`."""
    from travelsync.mail.clients import offlineimap as client

    sections = client._parse(text)
    found = []
    for name in sections:
        if not name.startswith("Repository ") or client._get(sections, name, "type") is None:
            continue
        if client._get(sections, name, "type").value.strip() not in client.SERVER_TYPES:
            continue
        host = client._get(sections, name, "remotehost")
        if host is None:
            continue
        port = client._get(sections, name, "remoteport")
        ssl_on = client._boolean(sections, name, "ssl", True)
        starttls = client._boolean(sections, name, "starttls", False)
        found.append(_server(host.value, port.value if port else None, "imap", ssl_on and not starttls))
    return found


def claws(text: str) -> list[Server]:
    """Each POP or IMAP account's `receive_server`, `pop_port`/`imap_port` and `ssl_pop`/`ssl_imap`
    (1: TLS from the start, 2: STARTTLS)."""
    from travelsync.mail.clients import claws as client

    found = []
    for settings in client._sections(client._parse(text)[0]).values():
        protocol, host = client._protocol(settings), client._last(settings, "receive_server", "").strip()
        if protocol not in ("pop3", "imap") or not host:
            continue
        prefix = "pop" if protocol == "pop3" else "imap"
        implicit = client._number(client._last(settings, f"ssl_{prefix}", "0")) == 1
        found.append(_server(host, client._last(settings, f"{prefix}_port", "").strip(), protocol, implicit))
    return found


def kmail(text: str) -> list[Server]:
    """A POP3 resource's [General] `host`, `port` and `useSSL` (true: TLS from the start)."""
    from travelsync.mail.clients import kmail as client

    settings = client._general(client._parse(text)[0])
    host = client._last(settings, "host")
    if not host:
        return []
    implicit = (client._last(settings, "useSSL") or "").lower() in YES
    return [_server(host, client._last(settings, "port"), "pop3", implicit)]


def evolution(text: str) -> list[Server]:
    """A .source file's [Network] `Host`, `Port` and [Security] `Method`
    (ssl-on-alternate-port: TLS from the start), for a POP or IMAP account."""
    from travelsync.mail.clients import evolution as client

    groups = client._groups(client._parse(text)[0])
    protocol = "pop3" if "Pop Backend" in groups else "imap" if "Imapx Backend" in groups else None
    host = client._last(groups.get("Network", {}), "Host")
    if protocol is None or not host:
        return []
    implicit = client._last(groups.get("Security", {}), "Method") == "ssl-on-alternate-port"
    return [_server(host, client._last(groups.get("Network", {}), "Port"), protocol, implicit)]


_URL = re.compile(r"(?P<scheme>pops?|imaps?|smtps?)://(?:[^@/\s]*@)?(?P<host>\[[^]\s]+\]|[^:/\s]+)(?::(?P<port>\d+))?",
                  re.IGNORECASE)
_SCHEMES = {"pop": "pop3", "imap": "imap", "smtp": "smtp"}


def mutt(text: str) -> list[Server]:
    """Every pop[s]://, imap[s]:// and smtp[s]:// URL in the file's commands (pop_host, folder,
    spoolfile, mailboxes, smtp_url, …): the `s` schemes are TLS from the start. Files it
    `source`s are not followed."""
    from travelsync.mail.clients import mutt as client

    found = []
    for words in client._commands(text):
        for word in words[1:]:
            for match in _URL.finditer(word.text):
                scheme = match["scheme"].lower()
                server = _server(match["host"].strip("[]"), match["port"], _SCHEMES[scheme.rstrip("s")],
                                 scheme.endswith("s"))
                if server not in found:
                    found.append(server)
    return found


READERS = {"fetchmail": fetchmail, "getmail": getmail, "mpop": mpop, "thunderbird": thunderbird,
           "mbsync": mbsync, "offlineimap": offlineimap, "claws": claws, "kmail": kmail, "evolution": evolution,
           "mutt": mutt}


def from_mailers(entries, home: Path, environ: Mapping[str, str]) -> tuple[list, list[str]]:
    """The mail check's targets from the configured mailer entries (their files, or the
    client's usual places), deduplicated; notes for what could not be read."""
    from travelsync.mail import registry
    from travelsync.preflight.mailserver import Target

    targets, notes = [], []
    for entry in entries:
        reader = READERS.get(entry.kind)
        if reader is None:
            notes.append(f"mail servers of {entry.kind} are not read: list them in preflight.mail.servers")
            continue
        if entry.file and ":" in entry.file.split("/", 1)[0]:
            notes.append(f"{entry.file}: on another machine; list its servers in preflight.mail.servers")
            continue
        paths = [Path(entry.file)] if entry.file else [p for p in registry.client(entry.kind).default_paths(home, environ)
                                                        if p.is_file()]
        for path in paths:
            try:
                found = reader(path.read_bytes().decode("utf-8", "surrogateescape"))
            except (OSError, MailConfigError) as error:
                notes.append(f"{path}: mail servers not read ({getattr(error, 'message', None) or error})")
                continue
            for server in found:
                target = Target(server.host, server.port, server.protocol, server.starttls)
                if target not in targets:
                    targets.append(target)
    return targets, notes
