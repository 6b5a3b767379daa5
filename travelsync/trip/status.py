"""`status`: trip state, last full and latest snapshot (age, size), mail modes, next runs.

Every part is optional: a missing repository, mail module or schedule gives a note, never
a failure, so `status` always answers (and quickly: nothing heavy is imported).
"""

from travelsync.trip import state as trip_state
from travelsync.trip import steps


def _age(now, instant) -> float:
    return round((now - instant).total_seconds(), 1)


def _snapshot(now, info) -> dict | None:
    if info is None:
        return None
    return {"id": info.id, "kind": info.kind, "started": info.started.isoformat(),
            "age_seconds": _age(now, info.finished), "bytes": info.bytes, "files": info.files}


def collect(context) -> dict:
    """Everything status shows, as the --json document."""
    document = trip_state.load(context.state_dir)
    notes = []
    result = {"trip": {"state": document["state"], "in_progress": document.get("in_progress"),
                       "protected_snapshots": document.get("protected_snapshots", []),
                       **{step: _brief(document.get(step)) for step in trip_state.STEPS}},
              "last_full": None, "latest": None, "mail": None, "next_runs": None, "notes": notes}
    try:
        repository = context.repository
        result["last_full"] = _snapshot(context.now, repository.last_full())
        result["latest"] = _snapshot(context.now, repository.latest())
    except Exception as error:  # status must answer even when the repository is away
        notes.append(f"repository: {getattr(error, 'message', error)}")
    if context.config.mailer:
        try:
            result["mail"] = steps.mail_status(context.config, context.state_dir, context.environ or None)
        except steps.StepUnavailable as missing:
            notes.append(f"mail: {missing}")
        except Exception as error:
            notes.append(f"mail: {getattr(error, 'message', error)}")
    if context.config.offsite:  # from the record of the last syncs: no copy is contacted here
        from travelsync.offsite.status import ages

        result["offsite"] = ages(context.config, context.state_dir, context.now)
    try:
        from travelsync.schedule.slots import next_runs

        runs = next_runs(context.config.schedule, context.now)
        result["next_runs"] = {kind: when.isoformat() for kind, when in runs.items()}
    except ImportError:
        notes.append("schedule: not available in this version")
    return result


def _brief(record):
    if not record:
        return None
    keys = ("at", "snapshot", "paths", "target", "files_transferred", "bytes_transferred", "seconds")
    brief = {k: record[k] for k in keys if k in record}
    restore = record.get("restore") or {}
    if "bytes_transferred" not in brief and restore:
        brief.update({k: restore.get(k) for k in ("files_transferred", "bytes_transferred", "seconds")})
    if restore.get("displaced"):
        brief["displaced"] = len(restore["displaced"])
        brief["displaced_folder"] = restore.get("displaced_folder")
    return brief


def human(data: dict) -> str:
    from travelsync.rsync.progress import human_bytes

    trip = data["trip"]
    lines = [f"trip: {trip['state']}"]
    if trip.get("in_progress"):
        running = trip["in_progress"]
        lines.append(f"  interrupted: `travelsync {running['step']}` started {running['started']}: run it again")
    for step in trip_state.STEPS:
        record = trip.get(step)
        if record:
            moved = (f", {human_bytes(record.get('bytes_transferred') or 0)} in {record.get('seconds') or 0:.1f} s"
                     if record.get("bytes_transferred") is not None else "")
            lines.append(f"  {step}: {record.get('at')}{' from ' + record['snapshot'] if record.get('snapshot') else ''}"
                         f"{moved}")
    for label, key in (("last full", "last_full"), ("latest", "latest")):
        info = data.get(key)
        if info:
            lines.append(f"{label}: {info['id']} ({_human_age(info['age_seconds'])} old, {human_bytes(info['bytes'])}, "
                         f"{info['files']} files)")
        else:
            lines.append(f"{label}: none")
    mail = data.get("mail")
    if isinstance(mail, list):
        for entry in mail:
            if isinstance(entry, dict):
                lines.append(f"mail {entry.get('kind', '?')} {entry.get('file', '')}: {entry.get('mode', '?')}")
    elif isinstance(mail, dict):
        lines.append(f"mail: {mail.get('mode', mail)}")
    for copy in data.get("offsite") or []:
        lines.append(f"off-site {copy['name']}: latest {copy['latest'] or 'none'} ({copy['age']} old)"
                     + (f"; warning: {copy['warning']}" if copy["warning"] else ""))
    runs = data.get("next_runs")
    if runs:
        lines.append("next runs: " + ", ".join(f"{kind} {when}" for kind, when in runs.items()))
    lines += [f"note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _human_age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
