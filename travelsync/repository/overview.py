"""Everything a command needs to know about a repository, read in one go (one ssh round trip)."""

from dataclasses import dataclass, field


@dataclass
class Overview:
    repo_file: bytes | None = None  # travelsync.repo, None when absent
    empty: bool = True  # the folder is missing or holds nothing but `lock`
    latest: str | None = None  # the `latest` link's target
    partials: list = field(default_factory=list)  # names under partial/
    documents: list = field(default_factory=list)  # (snapshot folder name, snapshot.json bytes or None)
    unreadable: dict = field(default_factory=dict)  # snapshot folder name → why its snapshot.json cannot be read
    links: list = field(default_factory=list)  # (name, target) of symlinks where a repository holds none
