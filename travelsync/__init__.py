"""travelsync: rsync snapshots of home, restored onto a laptop before a trip."""

__version__ = "0.1.0"
