"""Which paths to restore, and where each lands (pure: no filesystem, no network).

A restore path is `<source name>/<path inside that source>` (design §2): `home/Mail` of the
source `home` (path /home/marc) comes from `<snapshot>/data/home/Mail` and lands at
`<root>/home/marc/Mail`.  Paths are checked here for shape only (no `..`, no absolute path,
a known source); whether they exist in the snapshot is asked of the repository by the runner.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from travelsync.errors import UsageError


@dataclass(frozen=True)
class SelectedPath:
    """One restore path: `home/Mail` → source `home`, inside `Mail`."""

    text: str  # as given, normalised: "home/Mail"
    source_name: str
    inside: PurePosixPath  # "Mail"; "." means the whole source


@dataclass(frozen=True)
class SourceGroup:
    """All selected paths of one source, restored into one folder (by one rsync run, or one
    per path: restore/parallel.py)."""

    source_name: str
    source_path: PurePosixPath  # home's absolute path of the source, e.g. /home/marc
    insides: tuple[PurePosixPath, ...]
    # where the insides are read, relative to the snapshot's data/ folder: the source's own
    # folder (None), or, for a restore into a plain folder (flatten), the folder above one path
    data_folder: str | None = None

    def target_folder(self, root: str) -> str:
        """Where the source's folder lands under `root`: `/laptop` + `/home/marc`."""
        return str(PurePosixPath(root) / self.source_path.relative_to("/"))

    def laptop_folder(self, root):
        """target_folder for a Location (local or over ssh): the same folder on its machine."""
        return root.child(str(self.source_path.relative_to("/")))


def parse_path(text: str, source_names) -> SelectedPath:
    """Given `home/Mail`, return its SelectedPath. Raise UsageError for `..`, absolute paths, unknown sources."""
    raw = text.strip()
    if not raw:
        raise UsageError("an empty restore path was given", hint="use <source name>/<path inside it>, e.g. home/Mail")
    if raw.startswith("/"):
        raise UsageError(f"restore path {text!r} is absolute; give it relative to the sources, e.g. home/Mail")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"restore path {text!r} contains '..'; paths may not leave their source")
    if any("\0" in p or "\n" in p for p in parts):
        raise UsageError(f"restore path {text!r} contains a NUL or newline character")
    names = list(source_names)
    if not parts or parts[0] not in names:
        known = ", ".join(names) or "none configured"
        raise UsageError(f"restore path {text!r} does not start with a source name (sources: {known})",
                         hint="paths are <source name>/<path inside that source>, e.g. home/Mail")
    inside = PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath(".")
    return SelectedPath("/".join(parts), parts[0], inside)


def _contains(outer: PurePosixPath, inner: PurePosixPath) -> bool:
    return outer == PurePosixPath(".") or outer == inner or outer in inner.parents


def group_paths(selected, sources) -> tuple[SourceGroup, ...]:
    """Group paths by source (in configuration order), dropping duplicates and paths inside others.

    `sources` are the configuration's Source objects (name, path).
    """
    by_name = {}
    for path in selected:
        by_name.setdefault(path.source_name, []).append(path.inside)
    groups = []
    for source in sources:
        insides = by_name.get(source.name)
        if not insides:
            continue
        kept: list[PurePosixPath] = []
        for inside in sorted(set(insides), key=lambda p: (len(p.parts), str(p))):
            if not any(_contains(outer, inside) for outer in kept):
                kept.append(inside)
        groups.append(SourceGroup(source.name, PurePosixPath(str(source.path)), tuple(sorted(kept, key=str))))
    return tuple(groups)


def select(texts, config) -> tuple[SourceGroup, ...]:
    """Given restore path texts and the Config, return the groups to restore (UsageError if none or bad)."""
    texts = list(texts)
    if not texts:
        raise UsageError("nothing to restore: no --path given and laptop.paths is empty in the configuration",
                         hint="add laptop.paths (e.g. [home/Mail]) or pass --path home/Mail")
    names = [s.name for s in config.sources]
    return group_paths([parse_path(t, names) for t in texts], config.sources)


def flatten(groups) -> tuple[SourceGroup, ...]:
    """The groups of a restore into a plain folder (`--to DIR`): each path lands in DIR under
    its own last name (`home/src/x.py` → DIR/x.py; a whole source `home` → DIR/home), so each
    is read from the folder above it and placed as if the source sat at `/`. UsageError when
    two paths would land on the same name."""
    flat, landing = [], {}
    for group in groups:
        for inside in group.insides:
            if str(inside) == ".":
                name, folder = group.source_name, ""
            else:
                name, folder = inside.name, str(PurePosixPath(group.source_name) / inside.parent).removesuffix("/.")
            text = f"{group.source_name}/{inside}".removesuffix("/.")
            if name in landing:
                raise UsageError(f"{landing[name]} and {text} would both land at {name} in the --to folder",
                                 hint="restore them one at a time, or with --root DIR (which keeps their paths)")
            landing[name] = text
            flat.append(SourceGroup(group.source_name, PurePosixPath("/"), (PurePosixPath(name),), folder))
    return tuple(flat)


def displaced_folder(root: str, displaced: str, stamp: str) -> str:
    """The folder a restore moves laptop files aside into: `<root>/<displaced>/<stamp>` (absolute)."""
    place = PurePosixPath(displaced)
    if ".." in place.parts:
        raise UsageError(f"laptop.displaced {displaced!r} may not contain '..'")
    base = place if place.is_absolute() else PurePosixPath(root) / place
    return str(base / stamp)


def check_displaced_outside(groups, root: str, folder: str) -> None:
    """Refuse a displaced folder inside a restored path: the restore's --delete would reach it."""
    displaced = PurePosixPath(folder)
    for group in groups:
        for inside in group.insides:
            restored = PurePosixPath(group.target_folder(root)) / inside
            if restored == displaced or restored in displaced.parents:
                raise UsageError(f"the displaced folder {folder} lies inside the restored path {restored}",
                                 hint="set laptop.displaced to a folder outside laptop.paths")
