"""How old each off-site copy is: from the record of the last sync (fast, for `status` and
the notifications) or by asking the copy itself (`offsite status`).

The record, `$XDG_STATE_HOME/travelsync/offsite.json`, is written after every sync: per copy
the newest snapshot it holds, when that snapshot was started, and when the sync ran. It is a
cache for reports only; `offsite sync` and `offsite status` always read the copy itself.
"""

from datetime import datetime
from pathlib import Path

from travelsync.offsite.plan import age_of, human_age, too_old

RECORD = "offsite.json"


def record_sync(state_dir, name: str, latest_id: str | None, latest_started: datetime | None, now: datetime) -> None:
    from travelsync.atomic import atomic_write_json, read_json

    path = Path(state_dir) / RECORD
    document = read_json(path, {}) or {}
    if not isinstance(document, dict):
        document = {}
    document[name] = {"latest": latest_id, "latest_started": latest_started.isoformat() if latest_started else None,
                      "synced_at": now.isoformat()}
    atomic_write_json(path, document)


def recorded(state_dir) -> dict:
    """name → {latest, latest_started, synced_at}; {} when never synced or unreadable."""
    import json

    try:
        document = json.loads((Path(state_dir) / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def copy_age(copy, entry: dict | None, now: datetime) -> dict:
    """One copy's age as status shows it: {name, latest, age_seconds, age, warn_after, warning}."""
    started = None
    if isinstance(entry, dict) and isinstance(entry.get("latest_started"), str):
        try:
            started = datetime.fromisoformat(entry["latest_started"])
        except ValueError:
            started = None
    age = age_of(started, now)
    old = too_old(started, now, copy.warn_after)
    warning = None
    if old:
        warning = (f"off-site copy {copy.name} has never been synced" if started is None else
                   f"off-site copy {copy.name} is {human_age(age)} old (more than {copy.warn_after})")
    return {"name": copy.name, "latest": (entry or {}).get("latest"), "latest_started": started.isoformat()
            if started else None, "age_seconds": round(age.total_seconds(), 1) if age is not None else None,
            "age": human_age(age), "warn_after": copy.warn_after, "warning": warning}


def ages(config, state_dir, now: datetime) -> list[dict]:
    """copy_age of every configured copy, from the record."""
    found = recorded(state_dir)
    return [copy_age(copy, found.get(copy.name), now) for copy in config.offsite]


def notice_text(config, environ=None) -> tuple[str | None, bool]:
    """("friend: 3 h old; far: 4 d 0 h old (more than 2d)", any copy too old) for the
    notifications, from the record; (None, False) without copies. Never raises."""
    if not getattr(config, "offsite", ()):
        return None, False
    try:
        from travelsync import clock, paths

        found = ages(config, paths.state_dir(environ), clock.now(environ))
    except Exception as error:  # a notification must go out whatever the record holds
        return f"unknown ({error})", False
    parts = []
    for entry in found:
        if entry["latest"] is None:
            parts.append(f"{entry['name']}: never synced")
        else:
            parts.append(f"{entry['name']}: {entry['age']} old" + (f" (more than {entry['warn_after']})"
                                                                  if entry["warning"] else ""))
    return "; ".join(parts), any(entry["warning"] for entry in found)
