"""RFC 8781 PREF64 (router advertisement option 38): a pure decoder and the socket side.

The Linux kernel ignores the option, so travelsync reads router advertisements itself:
it sends a router solicitation and listens on a raw ICMPv6 socket bound to the interface.
"""

import struct
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from travelsync.nat64 import rfc6052

OPTION_TYPE = 38
ROUTER_SOLICITATION, ROUTER_ADVERTISEMENT = 133, 134
RA_HEADER_LENGTH = 16  # type, code, checksum, hop limit, flags, lifetime, reachable, retrans
# prefix length code (the 3 low bits of bytes 2-3) -> prefix length (RFC 8781 §4)
LENGTH_CODES = {0: 96, 1: 64, 2: 56, 3: 48, 4: 40, 5: 32}


@dataclass(frozen=True)
class Pref64:
    """One PREF64 option as received: usable, withdrawn (lifetime 0), or ignored (with why)."""

    prefix: IPv6Network | None  # None when the length code is undefined (the length is unknown)
    lifetime: int  # seconds (scaled lifetime × 8); 0 withdraws the prefix
    ignored: str | None = None  # why RFC 8781 says to ignore the option
    router: str | None = field(default=None, compare=False)  # the link-local source of the RA

    @property
    def usable(self) -> bool:
        return self.ignored is None and self.lifetime > 0

    def describe(self) -> str:
        """What was received and, when it is not used, why."""
        if self.ignored is not None:
            return f"{self.prefix} ignored: {self.ignored}" if self.prefix else f"ignored: {self.ignored}"
        if self.lifetime == 0:
            return f"{self.prefix} withdrawn (lifetime 0)"
        return f"{self.prefix}, lifetime {self.lifetime} s"

    def as_json(self) -> dict:
        return {"prefix": str(self.prefix) if self.prefix else None, "lifetime": self.lifetime,
                "ignored": self.ignored, "router": self.router}


def decode_option(option: bytes) -> Pref64 | None:
    """Decode one option (type, length, body); None when it is not a whole PREF64 option.

    An option RFC 8781 says to ignore (length not 2, an undefined length code) comes back
    with `ignored` set, so that what was received can still be reported.
    """
    if len(option) < 4 or option[0] != OPTION_TYPE:
        return None
    (word,) = struct.unpack("!H", option[2:4])
    lifetime, code = (word >> 3) * 8, word & 0x7
    length = LENGTH_CODES.get(code)
    ignored = None if option[1] == 2 else f"length {option[1]} (RFC 8781 §4: must be 2)"
    if len(option) < 16:
        return Pref64(None, lifetime, ignored) if ignored else None  # length 1; else cut short
    if length is None:
        return Pref64(None, lifetime, ignored or f"prefix length code {code} (RFC 8781 §4 defines 0-5)")
    bits = int.from_bytes(option[4:16] + bytes(4), "big")
    bits &= ((1 << length) - 1) << (128 - length)  # bits past the length are ignored by receivers
    prefix = IPv6Network((bits, length))
    if ignored is None:  # a prefix RFC 6052 forbids is refused here as DNS discovery refuses it
        try:
            rfc6052.validate_prefix(prefix)
        except rfc6052.InvalidPrefix as error:
            ignored = error.reason
    return Pref64(prefix, lifetime, ignored)


def explain(interface: str, received, routers) -> tuple[str, ...]:
    """Notes for a discovery that found no usable PREF64 option: each option received and why
    it was not used (withdrawn, ignored), then that DNS was asked instead."""
    heard = f" (routers heard: {', '.join(routers)})" if routers else " (no router advertisement heard)"
    notes = tuple(f"PREF64 option from {item.router} on {interface}: {item.describe()}" for item in received)
    usable = "usable " if received else ""
    return notes + (f"no {usable}PREF64 option on {interface}{heard}; asked DNS instead",)


def options(packet: bytes, header_length: int = RA_HEADER_LENGTH):
    """Yield the (type, bytes) of each option after the ICMPv6 header; stop at a malformed one."""
    offset = header_length
    while offset + 2 <= len(packet):
        units = packet[offset + 1]
        if units == 0:  # RFC 4861 §4.6: a zero length is invalid; discard the rest
            return
        end = offset + units * 8
        if end > len(packet):
            return
        yield packet[offset], packet[offset:end]
        offset = end


def decode_router_advertisement(packet: bytes) -> list[Pref64]:
    """Every PREF64 option in one ICMPv6 router advertisement, usable or not (empty if not an RA)."""
    if len(packet) < RA_HEADER_LENGTH or packet[0] != ROUTER_ADVERTISEMENT or packet[1] != 0:
        return []
    found = []
    for kind, body in options(packet):
        if kind == OPTION_TYPE:
            decoded = decode_option(body)
            if decoded is not None:
                found.append(decoded)
    return found


def router_solicitation() -> bytes:
    """An RS without options (the kernel fills in the checksum on ICMPv6 raw sockets)."""
    return struct.pack("!BBHI", ROUTER_SOLICITATION, 0, 0, 0)


def acceptable(packet: bytes, source: IPv6Address, hop_limit: int | None) -> bool:
    """RFC 4861 §6.1.2: an RA counts only from a link-local source with hop limit 255."""
    return bool(packet) and packet[0] == ROUTER_ADVERTISEMENT and source.is_link_local and hop_limit == 255


def _hop_limit(ancillary, socket) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT and len(data) >= 4:
            return struct.unpack("=i", data[:4])[0]  # a native int
    return None


def read_from_interface(interface: str, timeout: float = 3.0, solicit: bool = True) -> tuple[list[Pref64], list[str]]:
    """Solicit and read router advertisements on `interface` until one carries a usable PREF64.

    Returns (options received, routers heard): the usable ones as soon as they come, else every
    withdrawn or ignored option heard until `timeout`. Needs CAP_NET_RAW. Decoding is above.
    """
    import select
    import socket
    import time
    from dataclasses import replace

    from travelsync.errors import TravelsyncError, UsageError

    try:
        index = socket.if_nametoindex(interface)
    except OSError:
        raise UsageError(f"--ra {interface}: no such network interface") from None
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    except PermissionError:
        raise TravelsyncError("--ra: reading router advertisements needs root or CAP_NET_RAW") from None
    routers: list[str] = []
    received: list[Pref64] = []
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        deadline = time.monotonic() + timeout
        next_solicit = time.monotonic()
        while (remaining := deadline - time.monotonic()) > 0:
            if solicit and time.monotonic() >= next_solicit:
                try:
                    sock.sendto(router_solicitation(), ("ff02::2", 0, 0, index))
                except OSError:
                    pass  # no link-local address yet: keep listening for unsolicited RAs
                next_solicit = time.monotonic() + 1.0
            ready, _, _ = select.select([sock], [], [], min(remaining, 0.25))
            if not ready:
                continue
            packet, ancillary, _, sender = sock.recvmsg(65535, socket.CMSG_SPACE(4))
            source = IPv6Address(sender[0].split("%")[0])
            if not acceptable(packet, source, _hop_limit(ancillary, socket)):
                continue
            source = str(source)
            if source not in routers:
                routers.append(source)
            found = [replace(item, router=source) for item in decode_router_advertisement(packet)]
            if any(item.usable for item in found):
                return found, routers
            received += [item for item in found
                         if not any(item == seen and item.router == seen.router for seen in received)]
        return received, routers
    finally:
        sock.close()
