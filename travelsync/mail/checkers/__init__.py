"""Readers that run the client's own configuration code on a copy, and nothing else.

Some clients' "check" modes do more than read: `getmail --dump` opens the `message_log` file
(creating it), reads `~/.netrc` and requires every delivery target (Maildir, mbox, MDA path)
to exist where the check runs.  For those, travelsync runs a small script with the client's
own interpreter that imports the client's own modules and reads the file with its own
parser and option types, then prints the settings that decide keep or delete as JSON.  The
scripts run no command the file names, open no file it names but itself, and touch no network.

A script is passed with `python3 -c`, so it also runs on another machine over ssh; it exits
127 when the client is not installed there.
"""

import shutil
from pathlib import Path, PurePath

HERE = Path(__file__).parent


def interpreter_of(program: str) -> str:
    """The Python that runs `program` here (its `#!` line), else plain `python3`."""
    found = shutil.which(program)
    if found:
        try:
            with open(Path(found).resolve(), "rb") as script:
                first = script.readline(200).decode("utf-8", "replace").strip()
        except OSError:
            first = ""
        words = first[2:].split() if first.startswith("#!") else []
        if len(words) == 1 and "python" in PurePath(words[0]).name:
            return words[0]
        if len(words) == 2 and PurePath(words[0]).name == "env" and words[1].startswith("python"):
            return words[1]
    return "python3"


def script_argv(program: str, script: str, path: PurePath) -> list[str]:
    """argv running checkers/<script> for the config copy at `path` with `program`'s interpreter."""
    source = (HERE / script).read_text(encoding="utf-8")
    return [interpreter_of(program), "-c", source, program, str(path)]
