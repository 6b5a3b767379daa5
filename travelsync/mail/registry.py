"""Which module speaks for which mail client `kind`; modules are imported only when used.

The contract of a client module (travelsync/mail/clients/<kind>.py), all pure except
refuse_reason and default_paths (which look at files):

- KIND: its kind; AFTER_TRIP_DELETES_KEPT: switched back, it deletes what it kept (the
  after-trip order matters);
- default_paths(home, environ) -> [Path]: its usual config files, in order of preference;
- accounts(text) -> [Account]; plan_keep(text, only) -> Plan; plan_revert(text, changes) -> Plan
  (raise MailConfigError(message, line) for a file that does not parse);
- validate_argv(path) -> argv of the client's own checker, or None;
- refuse_reason(path) -> why the file must not be edited now (client running, override), or None.

Optional:
- CHECKER_PRINTS_SECRETS = True: the checker's output holds passwords (only the line number
  of its complaint is shown);
- ONE_FILE_PER_ACCOUNT = True: the client keeps one file per account (getmail rc files,
  Evolution .source files, KMail resource files), so an entry without `file:` means every
  existing default path, not only the first: keep switches them all and revert reverts them all;
- neutralise(text) -> text: the copy the checker reads, line for line, with every setting whose
  value is a command made harmless (the check must never run a command the file names);
- confirm(checker_output, text) -> None or why the client's reading disagrees with accounts(text);
- CHECKER = "name": the client the checker stands for, when argv[0] is an interpreter or a shell.

A client without a POP account, or an IMAP synchroniser whose channels/accounts have no IMAP
side, has nothing that deletes mail on the server: protocol SYNC ("imap-sync") marks the
accounts of mbsync and OfflineIMAP that keep does switch.
"""

import importlib
from types import ModuleType

from travelsync.errors import UsageError

KINDS = ("fetchmail", "getmail", "thunderbird", "mpop", "mutt", "claws", "evolution", "kmail", "mbsync", "offlineimap")

REQUIRED = ("KIND", "AFTER_TRIP_DELETES_KEPT", "default_paths", "accounts", "plan_keep", "plan_revert",
            "validate_argv", "refuse_reason")


def client(kind: str) -> ModuleType:
    """The client module for `kind`.  Raise UsageError for an unknown or missing kind."""
    if kind not in KINDS:
        raise UsageError(f"unknown mail client kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        module = importlib.import_module(f"travelsync.mail.clients.{kind}")
    except ModuleNotFoundError as error:
        if error.name != f"travelsync.mail.clients.{kind}":
            raise
        raise UsageError(f"mail client kind {kind!r} is not available in this version") from None
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if missing:
        raise UsageError(f"mail client module {kind!r} is incomplete (missing {', '.join(missing)})")
    return module


def available() -> list[str]:
    """The kinds whose module is installed."""
    found = []
    for kind in KINDS:
        try:
            client(kind)
        except UsageError:
            continue
        found.append(kind)
    return found
