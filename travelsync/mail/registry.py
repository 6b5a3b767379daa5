"""Which module speaks for which mail client `kind`; modules are imported only when used."""

import importlib
from types import ModuleType

from travelsync.errors import UsageError

KINDS = ("fetchmail", "getmail", "thunderbird", "mpop", "mutt", "claws", "evolution", "kmail")

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
