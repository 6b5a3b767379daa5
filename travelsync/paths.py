"""Where travelsync keeps its own files (XDG), and where it looks for the configuration."""

import os
from pathlib import Path

CONFIG_ENV = "TRAVELSYNC_CONFIG"


def _xdg(var: str, fallback: str, environ) -> Path:
    value = environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path(environ.get("HOME") or os.path.expanduser("~")) / fallback


def config_path(explicit: str | None = None, environ=None) -> Path:
    """`--config`, else $TRAVELSYNC_CONFIG, else $XDG_CONFIG_HOME/travelsync/config.yaml."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return _xdg("XDG_CONFIG_HOME", ".config", environ) / "travelsync" / "config.yaml"


def state_dir(environ=None) -> Path:
    """$XDG_STATE_HOME/travelsync: trip state, saved mail-client originals, fix undo records."""
    environ = os.environ if environ is None else environ
    return _xdg("XDG_STATE_HOME", ".local/state", environ) / "travelsync"
