"""mailer.json, version 1: the mail clients' original bytes that `mailer revert` writes back.

A revert replaces a mail client's file with `original_base64`; the file is refused (exit 2,
naming the field) unless every record is whole: a known client kind, base64 that decodes to
bytes matching `original_sha256`, and the list of token edits to undo.
"""

import base64
import binascii
import hashlib
import re
from typing import Annotated, Literal, NotRequired, TypedDict

from travelsync.atomic import read_json
from travelsync.statefiles.schema import DamagedStateFile, Text, check, plain_text

VERSION = 1
HINT = "move it away; the mail clients' files are untouched (their originals are then no longer known)"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _kind(value: str) -> str | None:
    from travelsync.mail.registry import KINDS

    return None if value in KINDS else "is not a known mail client kind"


def _base64(value: str) -> str | None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not base64"
    return None


def _sha256(value: str) -> str | None:
    return None if _HEX64.match(value) else "is not a SHA-256 in hex"


class ChangeRecord(TypedDict):
    account: str
    setting: Text
    before: str | None
    after: str | None


class SavedRecord(TypedDict):
    kind: Annotated[str, _kind]
    file: Text
    original_base64: Annotated[str, _base64]
    original_sha256: Annotated[str, _sha256]
    written_sha256: Annotated[str, _sha256]
    changes: list[ChangeRecord]
    saved_at: NotRequired[str]


class MailerDocument(TypedDict):
    version: Literal[1]
    files: dict[str, SavedRecord]


def empty() -> dict:
    return {"version": VERSION, "files": {}}


def validate(document, path) -> dict:
    """The document when every record is whole; raise DamagedStateFile naming the field."""
    if isinstance(document, dict) and "version" not in document:
        document = {**empty(), **document}
    document = check(document, MailerDocument, path, hint=HINT)
    for key, saved in document["files"].items():
        if plain_text(key):
            raise DamagedStateFile(path, f"files[{key!r}]", "names a file with a control character", hint=HINT)
        original = base64.b64decode(saved["original_base64"])
        if hashlib.sha256(original).hexdigest() != saved["original_sha256"]:
            raise DamagedStateFile(path, f"files.{key}.original_base64",
                                   "does not match original_sha256 (the saved original is damaged)", hint=HINT)
    return document


def load(path) -> dict:
    """mailer.json at `path` (an empty one when there is none), every field checked."""
    try:
        document = read_json(path, default=None)
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedStateFile(path, "", f"damaged (not JSON: {error})", hint=HINT) from None
    return empty() if document is None else validate(document, path)
