"""Which mail clients this machine has: their programs and config files in the usual places."""

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from travelsync.mail import registry
from travelsync.mail.model import UNKNOWN, MailConfigError

PROGRAMS = {  # kind → programs that show the client is installed
    "fetchmail": ("fetchmail",), "getmail": ("getmail",), "thunderbird": ("thunderbird",), "mpop": ("mpop",),
    "mutt": ("neomutt", "mutt"), "claws": ("claws-mail",), "evolution": ("evolution",), "kmail": ("kmail",),
    "mbsync": ("mbsync",), "offlineimap": ("offlineimap",),
}


@dataclass
class Found:
    kind: str
    program: str | None  # where the client's program is, if installed
    files: list[dict] = field(default_factory=list)  # {"file", "mode", "accounts", "error"}

    def to_json(self) -> dict:
        return {"kind": self.kind, "program": self.program, "files": self.files}


def detect(home: Path, environ: Mapping[str, str]) -> list[Found]:
    """Every client kind with its program or a config file here (clients with neither are left out)."""
    from travelsync.mail.service import mode_of_accounts

    found = []
    for kind in registry.available():
        module = registry.client(kind)
        program = next((shutil.which(p) for p in PROGRAMS.get(kind, ()) if shutil.which(p)), None)
        item = Found(kind, program)
        for path in module.default_paths(home, environ):
            if not path.is_file():
                continue
            entry = {"file": str(path), "mode": UNKNOWN, "accounts": 0, "error": None}
            try:
                accounts = module.accounts(path.read_bytes().decode("utf-8", "surrogateescape"))
                entry.update(mode=mode_of_accounts(accounts), accounts=len(accounts))
            except MailConfigError as error:
                entry["error"] = f"line {error.line}: {error.message}" if error.line else error.message
            except OSError as error:
                entry["error"] = error.strerror or str(error)
            item.files.append(entry)
        if item.program or item.files:
            found.append(item)
    return found
