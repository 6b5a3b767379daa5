"""getmail6 (`getmailrc`): `[options] delete = true` deletes, `false` or absent keeps.

The file is read line by line the way Python's configparser reads it for getmail
(sections, `key = value` or `key: value`, `#`/`;` comment lines, no inline comments,
indented continuation lines, keys case-insensitive, a key or section twice is an error).
One file is one account; its retriever type says POP or IMAP.  Keep rewrites only the
value of `delete` (the line is never absent when the mode is delete, as the default keeps).
"""

from pathlib import Path
from typing import Mapping, Sequence

from travelsync.mail import inifile
from travelsync.mail.model import DELETE, KEEP, Account, Change, MailConfigError, Plan

KIND = "getmail"
AFTER_TRIP_DELETES_KEPT = True  # `delete = true` again: the next run deletes everything it kept
ONE_FILE_PER_ACCOUNT = True  # without `file:`, every getmailrc* in the usual folders is switched

TRUE_WORDS = inifile.TRUE_WORDS
Option = inifile.Option


def parse(text: str) -> dict[str, dict[str, Option]]:
    """Sections → options, with the offsets of each value.  Raise MailConfigError like getmail would."""
    return inifile.parse(text, "a getmailrc", "getmail")


def _options(sections) -> dict[str, Option]:
    """[options] as getmail sees it: a [DEFAULT] section's values count where [options] has none."""
    return {**sections.get("DEFAULT", {}), **sections.get("options", {})}


def _protocol(sections) -> str:
    retriever = sections.get("retriever")
    if retriever is None or "type" not in retriever:
        raise MailConfigError("no [retriever] section with a `type`", 0)
    kind = retriever["type"].value.lower()
    if "pop3" in kind or "sdps" in kind:
        return "pop3"
    if "imap" in kind:
        return "imap"
    return kind


def _name(sections) -> str:
    retriever = sections.get("retriever", {})
    user = retriever.get("username")
    server = retriever.get("server")
    if user and server:
        return f"{user.value}@{server.value}"
    return "retriever"


def _warnings(name: str, options: dict[str, Option]) -> tuple[str, ...]:
    warnings = []
    for key in ("delete_after", "delete_bigger_than"):
        option = options.get(key)
        if option is not None and option.value not in ("", "0"):
            warnings.append(f"{name}: `{key} = {option.value}` deletes mail on the server even with `delete = false`")
    return tuple(warnings)


def accounts(text: str) -> list[Account]:
    sections = parse(text)
    options = _options(sections)
    delete = options.get("delete")
    deletes = delete is not None and delete.value.lower() in TRUE_WORDS
    name = _name(sections)
    return [Account(name, _protocol(sections), DELETE if deletes else KEEP, _warnings(name, options))]


def default_paths(home: Path, environ: Mapping[str, str]) -> list[Path]:
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    paths = []
    for folder in (config_home / "getmail", home / ".getmail"):
        if folder.is_dir():
            paths.extend(sorted(p for p in folder.glob("getmailrc*") if p.is_file()))
        else:
            paths.append(folder / "getmailrc")
    return paths


def plan_keep(text: str, only: frozenset[str] = frozenset()) -> Plan:
    sections = parse(text)
    name = _name(sections)
    if (only and name not in only) or _protocol(sections) != "pop3":
        return Plan(text)
    options = _options(sections)
    warnings = _warnings(name, options)
    delete = options.get("delete")
    if delete is None or delete.value.lower() not in TRUE_WORDS:
        return Plan(text, (), warnings)
    new_text = text[: delete.value_start] + "false" + text[delete.value_end:]
    return Plan(new_text, (Change(name, "delete", delete.value, "false"),), warnings)


def plan_revert(text: str, changes: Sequence[Change]) -> Plan:
    options = _options(parse(text))
    delete = options.get("delete")
    for change in changes:
        if change.setting != "delete":
            continue
        if delete is None or delete.value != change.after:
            return Plan(text, (), (f"{change.account}: `delete` is no longer the `{change.after}` travelsync set; "
                                   "left as it is",))
        new_text = text[: delete.value_start] + (change.before or "") + text[delete.value_end:]
        return Plan(new_text, (Change(change.account, "delete", change.after, change.before),))
    return Plan(text)


CHECKER = "getmail"


def validate_argv(path: Path) -> list[str] | None:
    """getmail's own reading (checkers/getmail_read.py), not `getmail --dump`: the dump creates the
    message_log file and needs every delivery target to exist where it runs."""
    from travelsync.mail.checkers import script_argv

    return script_argv("getmail", "getmail_read.py", path)


def confirm(output: str, text: str) -> str | None:
    """getmail's reading (the reader's JSON) against travelsync's: do they agree on delete?"""
    import json

    try:
        read = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "its reader printed no settings"
    (account,) = accounts(text)
    theirs = DELETE if read.get("delete") else KEEP
    if read.get("protocol") == "pop3" and account.protocol == "pop3" and theirs != account.mode:
        return f"getmail reads delete = {str(read.get('delete')).lower()}, travelsync reads {account.mode}"
    return None


def refuse_reason(path: Path) -> str | None:
    return None
