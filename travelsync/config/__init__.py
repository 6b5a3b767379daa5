"""Configuration: find, parse and validate the YAML file (see schema.py for every key)."""

from travelsync.config.load import load_config, parse_config
from travelsync.config.model import Config

__all__ = ["Config", "load_config", "parse_config"]
