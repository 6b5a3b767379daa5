"""RFC 8781 PREF64 (router advertisement option 38): a pure decoder and the socket side.

The Linux kernel ignores the option, so travelsync reads router advertisements itself:
it sends a router solicitation and listens on a raw ICMPv6 socket bound to the interface.
"""

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

OPTION_TYPE = 38
ROUTER_SOLICITATION, ROUTER_ADVERTISEMENT = 133, 134
RA_HEADER_LENGTH = 16  # type, code, checksum, hop limit, flags, lifetime, reachable, retrans
# prefix length code (the 3 low bits of bytes 2-3) -> prefix length (RFC 8781 §4)
LENGTH_CODES = {0: 96, 1: 64, 2: 56, 3: 48, 4: 40, 5: 32}


@dataclass(frozen=True)
class Pref64:
    prefix: IPv6Network
    lifetime: int  # seconds (scaled lifetime × 8); 0 withdraws the prefix

    def as_json(self) -> dict:
        return {"prefix": str(self.prefix), "lifetime": self.lifetime}


def decode_option(option: bytes) -> Pref64 | None:
    """Decode one option (type, length, body); None when RFC 8781 says to ignore it."""
    if len(option) < 2 or option[0] != OPTION_TYPE or option[1] != 2 or len(option) < 16:
        return None
    (word,) = struct.unpack("!H", option[2:4])
    length = LENGTH_CODES.get(word & 0x7)
    if length is None:
        return None
    bits = int.from_bytes(option[4:16] + bytes(4), "big")
    bits &= ((1 << length) - 1) << (128 - length)  # bits past the length are ignored by receivers
    return Pref64(IPv6Network((bits, length)), (word >> 3) * 8)


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
    """Every valid PREF64 option in one ICMPv6 router advertisement (empty if not an RA)."""
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
    """Solicit and read router advertisements on `interface` until one carries PREF64.

    Returns (options, routers heard). Needs CAP_NET_RAW. Side effects only; decoding is above.
    """
    import select
    import socket
    import time

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
            found = decode_router_advertisement(packet)
            if found:
                return found, routers
        return [], routers
    finally:
        sock.close()
