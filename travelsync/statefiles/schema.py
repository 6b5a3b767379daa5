"""Check a JSON document read back from a state file against its TypedDict schema (pure).

travelsync acts on what its state files say: trip.json's stamp names a folder it creates and
tidies, its snapshot ids and paths pick what rsync copies, runs.json decides whether a backup
is due, mailer.json holds the bytes a revert writes.  A file someone edited, or one damaged on
disk, must never be acted on: every field is checked here against the schema (types, and
a rule per field for the texts that become paths or ids), and the first bad field is named
as `file: field in_progress.stamp: …`, exit 2.

A schema is a TypedDict; a field's rule rides on its type as `Annotated[str, rule]`, where
`rule(value)` returns None when the value is fine or a few words saying what is wrong.
`NotRequired[...]` fields may be absent; keys the schema does not name are refused.
"""

import re
import types
import typing
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from travelsync.errors import TravelsyncError
from travelsync.exitcodes import ExitStatus

JSON = Any  # a field travelsync only shows, never acts on: any JSON value


class DamagedStateFile(TravelsyncError):
    """A state file that does not match its schema: nothing was done with it (exit 2)."""

    exit_status = ExitStatus.USAGE

    def __init__(self, path, field: str, problem: str, *, hint: str | None = None):
        where = f"field {field}: " if field else ""
        super().__init__(f"{path}: {where}{problem}; nothing was done with it",
                         hint=hint or "move the file away (or restore it from a backup) and run the command again")
        self.path, self.field, self.problem = str(path), field, problem


class _Bad(Exception):
    def __init__(self, field: str, problem: str, *, by_rule: bool = False):
        super().__init__(problem)
        self.field, self.problem, self.by_rule = field, problem, by_rule


def check(document, schema, path, *, hint: str | None = None):
    """Return `document` when it matches `schema`; raise DamagedStateFile naming `path` and the field."""
    try:
        _check(document, schema, "")
    except _Bad as bad:
        raise DamagedStateFile(path, bad.field, bad.problem, hint=hint) from None
    return document


def problem_of(document, schema) -> tuple[str, str] | None:
    """(field, problem) of the first field that does not match, or None (for callers with their own error)."""
    try:
        _check(document, schema, "")
    except _Bad as bad:
        return bad.field, bad.problem
    return None


def _name(field: str, key) -> str:
    """`in_progress.stamp`, `paths[0]`; a key with a control character (or none) as its repr,
    so that the one-line message stays one line."""
    if isinstance(key, int):
        return f"{field}[{key}]"
    if not key or _CONTROL.search(key):
        return f"{field}[{key!r}]"
    return f"{field}.{key}" if field else key


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


_TYPES = {str: "a text", int: "a whole number", float: "a number", bool: "true or false", type(None): "null",
          list: "a list", dict: "an object"}


def _check(value, kind, field: str) -> None:
    if kind is Any:
        return
    origin = get_origin(kind)
    if origin is Annotated:
        base, *rules = get_args(kind)
        _check(value, base, field)
        for rule in rules:
            problem = rule(value)
            if problem:
                raise _Bad(field, f"{problem} ({_shown(value)})", by_rule=True)
        return
    if origin in (Union, types.UnionType):
        problems = []
        for option in get_args(kind):
            try:
                _check(value, option, field)
                return
            except _Bad as bad:
                problems.append(bad)
        # The option whose type fits names what is wrong inside it (a rule, a field within).
        telling = [bad for bad in problems if bad.by_rule or bad.field != field]
        if telling:
            raise max(telling, key=lambda bad: len(bad.field))
        raise _Bad(field, "is " + " or ".join(_describe(option) for option in get_args(kind)) + f", not {_shown(value)}")
    if origin is Literal:
        if value not in get_args(kind) or isinstance(value, bool) != any(isinstance(a, bool) for a in get_args(kind)):
            raise _Bad(field, f"is not one of {', '.join(map(repr, get_args(kind)))} ({_shown(value)})")
        return
    if origin is list:
        _type(value, list, field)
        (item,) = get_args(kind) or (Any,)
        for index, element in enumerate(value):
            _check(element, item, _name(field, index))
        return
    if origin is dict:
        _type(value, dict, field)
        _, item = get_args(kind) or (str, Any)
        for key, element in value.items():
            _check(element, item, _name(field, key))
        return
    if typing.is_typeddict(kind):
        _record(value, kind, field)
        return
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(field, f"is not a number ({_shown(value)})")
        return
    _type(value, kind, field)


def _type(value, kind, field: str) -> None:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _Bad(field, f"is not {_TYPES.get(kind, kind.__name__)} ({_shown(value)})")


def _describe(kind) -> str:
    origin = get_origin(kind)
    if origin is Annotated:
        return _describe(get_args(kind)[0])
    if typing.is_typeddict(kind):
        return "an object"
    return _TYPES.get(origin or kind, getattr(kind, "__name__", str(kind)))


def _record(value, schema, field: str) -> None:
    _type(value, dict, field)
    hints = get_type_hints(schema, include_extras=True)
    unknown = sorted(set(value) - set(hints), key=str)
    if unknown:
        raise _Bad(_name(field, unknown[0]), "is not a field of this file")
    for key, kind in hints.items():
        required = key in schema.__required_keys__
        if get_origin(kind) in (NotRequired, Required):
            kind = get_args(kind)[0]
        if key not in value:
            if required:
                raise _Bad(_name(field, key), "is missing")
            continue
        _check(value[key], kind, _name(field, key))


# -- rules for the texts that become paths or names ------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
UTC_STAMP = re.compile(r"\d{8}T\d{6}Z")


def plain_text(value: str) -> str | None:
    """No NUL, newline or other control character (they end records, lines, and C strings)."""
    return "holds a control character (NUL, newline…)" if _CONTROL.search(value) else None


def utc_stamp(value: str) -> str | None:
    """A stamp as clock.utc_stamp writes it (20261122T023000Z): it becomes a folder name."""
    return None if UTC_STAMP.fullmatch(value) else "is not a UTC stamp like 20261122T023000Z"


def snapshot_id(value: str) -> str | None:
    from travelsync.repository.layout import is_snapshot_id

    # plain_text too: the id pattern's `$` lets a final newline through
    return None if is_snapshot_id(value) and not plain_text(value) else \
        "is not a snapshot id like 20261122T023000Z-full"


def iso_time(value: str) -> str | None:
    """An ISO 8601 instant with its UTC offset."""
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "is not an ISO 8601 time"
    return None if parsed.tzinfo is not None else "is an ISO 8601 time without its UTC offset"


def relative_path(value: str) -> str | None:
    """A path below a folder: not empty, not absolute, no `..`, no control character."""
    if not value.strip("/ ") or value.strip() in (".", "./"):
        return "is empty"
    if value.startswith("/"):
        return "is an absolute path"
    if ".." in value.split("/"):
        return "contains '..'"
    return plain_text(value)


def single_name(value: str) -> str | None:
    """One folder name: not empty, no `/`, not `.` or `..`, no control character."""
    if value in ("", ".", "..") or "/" in value:
        return "is not a single folder name"
    return plain_text(value)


def non_negative(value) -> str | None:
    return "is negative" if value < 0 else None


Stamp = Annotated[str, utc_stamp]
SnapshotId = Annotated[str, snapshot_id]
IsoTime = Annotated[str, iso_time]
RelativePath = Annotated[str, relative_path]
Name = Annotated[str, single_name]
Text = Annotated[str, plain_text]
Count = Annotated[int, non_negative]
Seconds = Annotated[float, non_negative]
