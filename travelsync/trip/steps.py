"""The trip's steps that other parts of travelsync provide: mail clients, preflight, backup.

Each is imported only when a step runs.  When a part is missing from this installation the
step says so (a warning in the report) instead of failing the whole trip.
"""

from pathlib import PurePosixPath

from travelsync.location import Location, parse_location


class StepUnavailable(Exception):
    """The module providing a step is not part of this installation."""


def _import(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise StepUnavailable(f"{module} is not available ({error})")


def _as_json(result):
    if result is None:
        return None
    if hasattr(result, "to_json"):
        return result.to_json()
    if isinstance(result, (list, tuple)):
        return [_as_json(r) for r in result]
    return result


def mail_keep(config, state_dir, dry_run: bool, environ=None):
    """Switch every configured mail client (home side) to keep-on-server; its JSON report."""
    return _as_json(_import("travelsync.mail.service").keep(config, state_dir, dry_run=dry_run, environ=environ))


def mail_revert(config, state_dir, dry_run: bool, environ=None):
    return _as_json(_import("travelsync.mail.service").revert(config, state_dir, dry_run=dry_run, environ=environ))


def mail_status(config, state_dir, environ=None):
    return _as_json(_import("travelsync.mail.service").status(config, state_dir, environ=environ))


def mail_revert_warnings(config) -> list[str]:
    """Warnings about the order of switching back: clients that delete what they kept once switched
    back must wait until home has fetched the trip's mail."""
    service = _import("travelsync.mail.service")
    return [str(w) for w in service.revert_order_warning(config, where="home") or ()]


def mail_mode_of_text(kind: str, text: str) -> str:
    return _import("travelsync.mail.service").mode_of_text(kind, text)


def preflight(config, environ=None) -> list[dict]:
    """Run the network checks here (the laptop); each check as its JSON shape."""
    runner = _import("travelsync.preflight.runner")
    return [r.as_json() if hasattr(r, "as_json") else _as_json(r) for r in runner.run_checks(config, environ=environ)]


def laptop_copy_of(config, file_text: str, root: Location) -> tuple[Location, str] | None:
    """Where the laptop holds its restored copy of a home file, if a restored path covers it.

    `~/.fetchmailrc` (home /home/marc/.fetchmailrc) in source `home` (path /home/marc), with
    `home/.fetchmailrc` among laptop.paths → `<root>/home/marc/.fetchmailrc`.  Returns
    (location, laptop path text) or None when no restored path holds the file.
    """
    place = parse_location(file_text)
    if place.is_remote:
        return None
    home_file = PurePosixPath(place.path)
    for laptop_path in config.laptop.paths:
        source, inside = config.split_laptop_path(laptop_path)
        covered = PurePosixPath(str(source.path)) / inside
        if home_file == covered or covered in home_file.parents:
            return root.child(str(home_file.relative_to("/"))), laptop_path
    return None
