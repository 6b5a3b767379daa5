"""What every mail-client adapter speaks: accounts, their mode, and token-level changes.

Pure data.  Each client module (travelsync/mail/clients/<kind>.py) turns a config file's
text into `Account`s and a keep/delete request into a `Plan` of `Change`s; the side effects
(reading, validating with the client's own parser, atomic replace, saving originals in the
state folder, ssh for remote files) live in travelsync/mail/apply.py and never in a client
module.
"""

from dataclasses import dataclass, field

KEEP = "keep"  # messages stay on the server after download
DELETE = "delete"  # messages are deleted from the server after download
MIXED = "mixed"
UNKNOWN = "unknown"
NONE = "none"  # no account in the file can delete mail on the server (IMAP-only): nothing to switch
SYNC = "imap-sync"  # the protocol of an mbsync channel / OfflineIMAP account: it expunges what is deleted locally


class MailConfigError(Exception):
    """The file cannot be understood: refuse to edit it.  `line` is 1-based (0: unknown)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Account:
    name: str  # as the client names it: "poll pop.example.org user marc", "server2", "[Account: 1]"
    protocol: str  # "pop3", "imap", SYNC, … (only POP and SYNC accounts are ever changed)
    mode: str  # KEEP | DELETE | UNKNOWN, after defaults and inheritance are applied
    warnings: tuple[str, ...] = ()  # settings that delete mail even in keep mode, etc.


@dataclass(frozen=True)
class Change:
    """One token-level edit: enough to undo it exactly, even if the file changed since."""

    account: str
    setting: str  # "keep", "leave_on_server", "delete", "pop_delete", …
    before: str | None  # the original token/line text; None: it was absent (revert removes it)
    after: str | None  # the new token/line text; None: removed


@dataclass(frozen=True)
class Plan:
    """What keep (or revert) would do to one file."""

    new_text: str
    changes: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)
