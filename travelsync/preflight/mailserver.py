"""Reach one mail server over TLS, address by address: the side-effect half of the mail check.

For each address: TCP connect, then the TLS handshake (from the first byte on 993/995/465,
after STARTTLS/STLS on 143/110/587/25), with the certificate checked against the system's
CAs (or a configured CA file) and the host name checked against it. Each failure becomes
one finding code with a one-line message; `classify` (pure) decides which.
"""

import errno
import socket
import ssl
import time
from dataclasses import dataclass

from travelsync.preflight.probe import split_host_port

IMPLICIT = {993: "imap", 995: "pop3", 465: "smtp"}
STARTTLS = {143: "imap", 110: "pop3", 587: "smtp", 25: "smtp"}

# finding codes
OK = "ok"
NO_ADDRESS = "no-address"
UNREACHABLE = "unreachable"
REFUSED = "refused"
TIMEOUT = "timeout"
TLS_REFUSED = "tls-refused"  # the port answered, but not with TLS
STARTTLS_REFUSED = "starttls-refused"
EXPIRED = "certificate-expired"
WRONG_NAME = "wrong-host-name"
UNTRUSTED = "untrusted-certificate"
BAD_CERTIFICATE = "certificate-invalid"
TLS_FAILED = "tls-failed"

# OpenSSL X509_V_ERR_* codes (x509_vfy.h)
_EXPIRED_CODES = {10}  # CERT_HAS_EXPIRED
_NOT_YET_CODES = {9}  # CERT_NOT_YET_VALID
_WRONG_NAME_CODES = {62}  # HOSTNAME_MISMATCH
_UNTRUSTED_CODES = {18, 19, 20, 21}  # self-signed, self-signed in chain, unknown issuer, unable to verify


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    protocol: str  # imap | pop3 | smtp | tls (another port: TLS from the start)
    starttls: bool

    @property
    def text(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def target(text: str, starttls: bool | None = None, protocol: str | None = None) -> Target:
    """"imap.example.org:993" → Target; the port decides STARTTLS unless `starttls` is given
    (a mail client's file says it). Raise ValueError for text that is not host:port."""
    host, port = split_host_port(text)
    if starttls is None:
        starttls = port in STARTTLS
    return Target(host, port, protocol or STARTTLS.get(port) or IMPLICIT.get(port) or "tls", starttls)


@dataclass(frozen=True)
class Attempt:
    family: str  # "ipv6" | "ipv4"
    address: str
    finding: str
    message: str
    tls_version: str | None = None
    nat64_prefix: str | None = None  # the address was synthesized from an A record with this prefix
    route: dict | None = None  # {"dev": ..., "through_tunnel": bool} for IPv6 with a tunnel configured

    @property
    def ok(self) -> bool:
        return self.finding == OK

    def as_json(self) -> dict:
        data = {"address": self.address, "ok": self.ok, "finding": self.finding, "message": self.message}
        for key in ("tls_version", "nat64_prefix", "route"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


def classify(error: BaseException, phase: str) -> tuple[str, str]:
    """(finding, message) for an error met while connecting ("connect"), in the STARTTLS
    dialogue ("starttls") or in the TLS handshake ("tls")."""
    if isinstance(error, ssl.SSLCertVerificationError):
        code, why = error.verify_code, error.verify_message
        if code in _EXPIRED_CODES:
            return EXPIRED, "certificate expired"
        if code in _NOT_YET_CODES:
            return BAD_CERTIFICATE, f"certificate not yet valid (is the clock right?) ({why})"
        if code in _WRONG_NAME_CODES:
            return WRONG_NAME, f"certificate is not for this host name ({why})"
        if code in _UNTRUSTED_CODES:
            return UNTRUSTED, f"certificate not issued by a trusted CA ({why}; preflight.mail.ca_file for your own CA)"
        return BAD_CERTIFICATE, f"certificate rejected ({why})"
    if isinstance(error, (socket.timeout, TimeoutError)):
        if phase == "connect":
            return TIMEOUT, "no answer to the connection (timed out)"
        return (TLS_REFUSED if phase == "tls" else STARTTLS_REFUSED,
                "the server went silent in the " + ("TLS handshake (no TLS on this port?)" if phase == "tls"
                                                    else "STARTTLS dialogue"))
    if isinstance(error, ConnectionRefusedError):
        return REFUSED, "connection refused (nothing listens on this port)"
    if isinstance(error, StartTlsRefused):
        return STARTTLS_REFUSED, str(error)
    if phase == "tls" and isinstance(error, (ssl.SSLError, ConnectionResetError, ssl.SSLEOFError)):
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
        return TLS_REFUSED, f"the port does not speak TLS ({reason}); STARTTLS or the wrong port?"
    if isinstance(error, OSError) and error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                                                      errno.EAFNOSUPPORT):
        return UNREACHABLE, f"unreachable ({error.strerror})"
    if isinstance(error, ssl.SSLError):
        return TLS_FAILED, f"TLS handshake failed ({error.reason or error})"
    what = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
    return (TLS_FAILED if phase == "tls" else UNREACHABLE if phase == "connect" else STARTTLS_REFUSED), what


class StartTlsRefused(Exception):
    """The server did not offer or accept STARTTLS; the message quotes its answer."""


def _line(sock: socket.socket, limit: int = 4096) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise StartTlsRefused(f"the server closed the connection{' after ' + repr(data[:80].decode('utf-8', 'replace')) if data else ''}")
        data += chunk
        if len(data) > limit:
            raise StartTlsRefused("the server's line is too long")
    return data


def _smtp_reply(sock) -> list[bytes]:
    lines = [_line(sock)]
    while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
        lines.append(_line(sock))
    return lines


def starttls(sock: socket.socket, protocol: str) -> None:
    """Ask for TLS in the protocol's own words (RFC 3501 STARTTLS, RFC 2595 STLS, RFC 3207
    STARTTLS); return when the server said go ahead, raise StartTlsRefused otherwise."""
    def quoted(answer: bytes) -> str:
        return repr(answer.strip()[:120].decode("utf-8", "replace"))

    if protocol == "imap":
        greeting = _line(sock)
        if not greeting.startswith(b"* OK"):
            raise StartTlsRefused(f"not an IMAP greeting: {quoted(greeting)}")
        sock.sendall(b"ts1 STARTTLS\r\n")
        while (answer := _line(sock)).startswith(b"* "):
            pass
        if not answer.startswith(b"ts1 OK"):
            raise StartTlsRefused(f"STARTTLS refused: {quoted(answer)}")
    elif protocol == "pop3":
        greeting = _line(sock)
        if not greeting.startswith(b"+OK"):
            raise StartTlsRefused(f"not a POP3 greeting: {quoted(greeting)}")
        sock.sendall(b"STLS\r\n")
        answer = _line(sock)
        if not answer.startswith(b"+OK"):
            raise StartTlsRefused(f"STLS refused: {quoted(answer)}")
    elif protocol == "smtp":
        greeting = _smtp_reply(sock)
        if not greeting[0].startswith(b"220"):
            raise StartTlsRefused(f"not an SMTP greeting: {quoted(greeting[0])}")
        sock.sendall(b"EHLO travelsync.invalid\r\n")
        capabilities = _smtp_reply(sock)
        if not any(line[4:].strip().upper() == b"STARTTLS" for line in capabilities):
            raise StartTlsRefused("the server does not offer STARTTLS")
        sock.sendall(b"STARTTLS\r\n")
        answer = _smtp_reply(sock)[-1]
        if not answer.startswith(b"220"):
            raise StartTlsRefused(f"STARTTLS refused: {quoted(answer)}")
    else:
        raise StartTlsRefused(f"no STARTTLS dialogue for {protocol}")


def tls_context(cafile: str | None) -> ssl.SSLContext:
    """Certificates and host names checked (ssl's defaults), against `cafile` when given."""
    return ssl.create_default_context(cafile=cafile)


def handshake(the_target: Target, family: int, address: str, context: ssl.SSLContext, timeout: float) -> tuple[str, str, str | None]:
    """Connect to `address`, do STARTTLS when the target needs it, complete the TLS handshake.
    Return (finding, message, TLS version); never raises for network or TLS trouble."""
    started = time.monotonic()
    phase = "connect"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, the_target.port) if family == socket.AF_INET else (address, the_target.port, 0, 0))
        if the_target.starttls:
            phase = "starttls"
            starttls(sock, the_target.protocol)
        phase = "tls"
        with context.wrap_socket(sock, server_hostname=the_target.host) as secure:
            version = secure.version()
        seconds = time.monotonic() - started
        how = "STARTTLS, " if the_target.starttls else ""
        return OK, f"{how}{version}, certificate valid for {the_target.host} ({seconds * 1000:.0f} ms)", version
    except (OSError, StartTlsRefused) as error:
        finding, message = classify(error, phase)
        return finding, message, None
    finally:
        sock.close()
