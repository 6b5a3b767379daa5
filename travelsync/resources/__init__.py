"""Files shipped with travelsync (the example configuration, the programs run over ssh)."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1]


def example_config() -> bytes:
    """The commented starter config: packaged copy in a wheel, config/ in a checkout."""
    for candidate in (_HERE / "travelsync.example.yaml", _CHECKOUT / "config" / "travelsync.example.yaml"):
        if candidate.is_file():
            return candidate.read_bytes()
    raise FileNotFoundError("travelsync.example.yaml is missing from this installation")


def remote_program(name: str) -> str:
    """The text of a shell program that travelsync runs on another machine (resources/remote/):
    real files, so a unit test runs the same program locally with `sh`."""
    return (_HERE / "remote" / name).read_text()
