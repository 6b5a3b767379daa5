"""Which of a user's processes run a given program: for the refusals of clients that write
their settings back from memory (Claws Mail, Evolution's registry, KMail's Akonadi resources)."""

import os
from pathlib import Path


def running(names: set[str], uid: int) -> list[tuple[int, list[str]]]:
    """(pid, argv) of the processes of `uid` whose argv[0] (its base name) or comm is one of `names`.

    comm is cut to 15 characters, so give that spelling too ("evolution-sourc").
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if os.path.basename(argv[0]) in names or comm in names:
            found.append((int(entry.name), argv))
    return found
