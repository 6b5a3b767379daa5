"""Edits that keep every other byte: a config file as lines with their endings, and undo by line.

Shared by the client modules (pure text, no files).  A line keeps its own ending (LF, CRLF or
none for a last line without one); replacing a line's content keeps its ending, an inserted
line takes the file's first ending, and removing the last line takes the ending before it
along, so that keep then revert gives back the very same bytes.
"""

from collections.abc import Callable, Mapping, Sequence

from travelsync.mail.model import Change, Plan


def split(text: str) -> list[str]:
    """The lines of `text`, each with its "\\n" (the last one may have none); "".join gives `text`."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def body(line: str) -> tuple[str, str]:
    """(content, ending): the ending is "\\n", "\\r\\n" or ""."""
    content = line.rstrip("\n").removesuffix("\r")
    return content, line[len(content):]


def ending(lines: list[str]) -> str:
    """The file's line ending: the first line's that has one, else "\\n"."""
    return next((body(line)[1] for line in lines if line.endswith("\n")), "\n")


def rebuild(lines: list[str], replace: Mapping[int, str], insert: Mapping[int, Sequence[str]]) -> str:
    """Replace line contents (endings kept) and insert lines before index j (j == len: at end)."""
    eol, out = ending(lines), []
    for j in range(len(lines) + 1):
        for new in insert.get(j, ()):
            if j == len(lines) and out and not out[-1].endswith("\n"):
                out[-1] += eol
                out.append(new)
            else:
                out.append(new + eol)
        if j < len(lines):
            content, line_ending = body(lines[j])
            out.append(replace.get(j, content) + line_ending)
    return "".join(out)


def remove(lines: list[str], k: int) -> None:
    """Delete line k; a last line without an ending takes the previous line's ending with it."""
    if k == len(lines) - 1 and not lines[k].endswith("\n") and k > 0:
        lines[k - 1] = body(lines[k - 1])[0]
    del lines[k]


def splice(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits by offset, right to left so earlier offsets stay valid."""
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def revert_lines(text: str, owner: Sequence[str | None], changes: Sequence[Change],
                 scope_of: Callable[[Change], str | None]) -> Plan:
    """Undo line-level `changes` (each Change.after is a whole line's content that keep wrote).

    `owner[k]` is the scope (group, section; None: the whole file) of line k and
    `scope_of(change)` the scope a change was made in.  Changes are undone last first, each
    found from the end of its scope by the exact line keep wrote (two identical lines are
    matched one after the other, upwards); a line that is gone or was edited since is left
    alone with a warning.  `before is None` (keep added the line) removes it again.
    """
    lines, owner = split(text), list(owner)
    done, warnings = [], []
    limits: dict[tuple[str | None, str | None], int] = {}  # per (scope, text): where the next match ends
    for change in reversed(changes):
        scope = scope_of(change)
        key = (scope, change.after)
        top = min(limits.get(key, len(lines)), len(lines))
        found = None if change.after is None else next(
            (k for k in range(top - 1, -1, -1) if owner[k] == scope and body(lines[k])[0] == change.after), None)
        if found is None:
            warnings.append(f"{change.account}: {change.setting} no longer reads {change.after!r} "
                            "(changed since keep); left as is")
            continue
        if change.before is None:
            remove(lines, found)
            del owner[found]
            limits = {other: end - 1 if end > found else end for other, end in limits.items()}
        else:
            lines[found] = change.before + body(lines[found])[1]
        limits[key] = found
        done.append(Change(change.account, change.setting, change.after, change.before))
    return Plan("".join(lines), tuple(reversed(done)), tuple(reversed(warnings)))
