"""The object every command receives (`ctx.obj`): options, output streams, clock, config.

Commands never touch sys.stdout or os.environ directly; tests build an `App` of their own.
Human messages go to stderr, data to stdout; `--json` prints one JSON document on stdout.
"""

import json
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property

from travelsync import clock, paths


def json_text(data) -> str:
    """One JSON document, UTF-8 text where it can be; a file name that is not UTF-8 (a
    surrogate escape in Python) makes the whole document ASCII with \\u escapes, so that it
    stays valid JSON rather than failing or writing bytes no parser accepts."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, default=str)
    return text


@dataclass
class App:
    config_option: str | None = None
    json: bool = False
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    emitted: bool = False  # a JSON document went to stdout (an error then prints none)
    environ: dict = field(default_factory=lambda: os.environ)
    stdout: object = None
    stderr: object = None

    def __post_init__(self):
        self.stdout = self.stdout or sys.stdout
        self.stderr = self.stderr or sys.stderr

    # -- places and time
    @property
    def config_path(self):
        return paths.config_path(self.config_option, self.environ)

    @property
    def state_dir(self):
        return paths.state_dir(self.environ)

    def now(self):
        return clock.now(self.environ)

    @cached_property
    def config(self):
        from travelsync.config import load_config

        return load_config(self.config_path, self.environ)

    # -- output
    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    @property
    def interactive(self) -> bool:
        """A person watching a terminal: live progress is worth drawing."""
        return not self.quiet and not self.json and hasattr(self.stderr, "isatty") and self.stderr.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stderr, flush=True)

    def detail(self, message: str) -> None:
        if self.verbosity > 0:
            print(message, file=self.stderr, flush=True)

    def warn(self, message: str) -> None:
        if not self.quiet:
            print(f"warning: {message}", file=self.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"travelsync: {message}", file=self.stderr, flush=True)

    def emit(self, data, human=None) -> None:
        """Report a result: JSON on stdout under --json, else `human(data)` lines on stdout."""
        if self.json:
            self.emitted = True
            print(json_text(data), file=self.stdout, flush=True)
        elif human is not None and not self.quiet:
            text = human(data)
            if text:
                print(text, file=self.stdout, flush=True)
