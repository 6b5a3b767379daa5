"""Parse rsync's `--stats` block and classify its other output lines (pure)."""

import re
from dataclasses import dataclass

_STAT = re.compile(r"^(?P<key>Number of files|Number of created files|Number of deleted files|"
                   r"Number of regular files transferred|Total file size|Total transferred file size|"
                   r"Literal data|Matched data|Total bytes sent|Total bytes received): (?P<value>[\d,.]+)")
_FILES_DETAIL = re.compile(r"reg: (?P<reg>[\d,.]+)")
ITEM = re.compile(r"^(?P<code>[<>ch.*][fdLDS][.+?cstpoguaxn ]{9}|\*deleting  ) (?P<name>.*)$", re.S)
PROGRESS = re.compile(r"^\s*(?P<bytes>[\d,.]+)\s+(?P<percent>\d+)%\s+(?P<rate>\S+)\s+(?P<eta>[\d:]+)"
                      r"(?:\s+\(xfr#(?P<xfr>\d+), (?:to|ir)-chk=(?P<left>\d+)/(?P<total>\d+)\))?")
_VANISHED = re.compile(r'^file has vanished: "(?P<name>.*)"')
# `send_files failed to open "/x": Permission denied (13)`, `opendir "/x" failed: …`,
# `readlink_stat("/x") failed: …`, `mkstemp "/x/.y.AbC" failed: File name too long (36)`,
# and the receiver's `recv_generator: mkdir "/x" failed: …` / `recv_generator: failed to stat
# "/x": …` (a name longer than the target's NAME_MAX)
_FAILED = re.compile(r'^rsync: (?:\[\w+\] )?(?:recv_generator: )?(?P<what>[\w ]+?) ?\(?"(?P<name>.*)"\)?'
                     r'(?: \(in \S+\))?(?: failed)?: (?P<why>.*)$')
# The sender skips a path longer than PATH_MAX with a line of its own, without "rsync:".
_OVERFLOW = re.compile(r"^filename overflows max-path len by (?P<by>\d+): (?P<name>.*)$")


def number(text: str) -> int:
    """rsync prints 1,234,567 (or 1.234.567 in some locales)."""
    return int(re.sub(r"[,.]", "", text))


@dataclass
class Stats:
    files: int = 0  # every entry in the transfer (files, dirs, links)
    regular_files: int = 0
    created: int = 0
    deleted: int = 0
    files_transferred: int = 0  # regular files whose data was sent
    total_size: int = 0  # bytes of all files in the transfer
    transferred_size: int = 0
    literal_data: int = 0  # bytes of file data actually sent
    matched_data: int = 0  # bytes found in the old copy (delta algorithm)
    bytes_sent: int = 0  # on the wire, protocol included
    bytes_received: int = 0
    # Not from --stats: the listing's (-ii) items naming a hard-link leader (" => "). 0 in a
    # backup's record means the snapshot holds no hard links, so a restore may be split
    # into several rsyncs (each keeps hard links only among its own files).
    hard_link_followers: int = 0

    def absorb(self, line: str) -> bool:
        """Take one output line; True when it was a stats line."""
        match = _STAT.match(line)
        if not match:
            return False
        key, value = match.group("key"), number(match.group("value"))
        field = {
            "Number of files": "files", "Number of created files": "created",
            "Number of deleted files": "deleted", "Number of regular files transferred": "files_transferred",
            "Total file size": "total_size", "Total transferred file size": "transferred_size",
            "Literal data": "literal_data", "Matched data": "matched_data",
            "Total bytes sent": "bytes_sent", "Total bytes received": "bytes_received",
        }[key]
        setattr(self, field, value)
        if key == "Number of files":
            detail = _FILES_DETAIL.search(line)
            self.regular_files = number(detail.group("reg")) if detail else 0
        return True

    def add(self, other: "Stats") -> "Stats":
        return Stats(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


def vanished_name(line: str) -> str | None:
    match = _VANISHED.match(line)
    return match.group("name") if match else None


def failed_file(line: str) -> str | None:
    """`/x (Permission denied)`: the file of an rsync error line with the reason, for the
    report, the JSON and the notification; None for any other line."""
    overflow = _OVERFLOW.match(line)
    if overflow:
        return f"{overflow.group('name')} (path longer than PATH_MAX, by {overflow.group('by')} bytes)"
    match = _FAILED.match(line)
    if not match:
        return None
    why = re.sub(r" \(\d+\)$", "", match.group("why").strip())
    return f"{match.group('name')} ({why})"
