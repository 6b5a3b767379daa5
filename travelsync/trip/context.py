"""What every trip step needs from outside: configuration, state folder, clock, output hooks."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path


def _quiet(message: str) -> None:
    pass


@dataclass
class TripContext:
    config: object
    state_dir: Path
    now: datetime
    environ: dict = field(default_factory=dict)
    info: object = _quiet  # one line for the person watching (stderr)
    on_progress: object = None  # rsync Progress callback (a terminal bar), or None
    skip_preflight: bool = False

    @cached_property
    def repository(self):
        from travelsync.repository import open_repository

        return open_repository(self.config)
