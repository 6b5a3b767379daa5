"""JSON shapes of the trip steps (design §2) and their human summaries (pure)."""

from travelsync.exitcodes import ExitStatus


def step_report(step: str, state: str, restore: dict | None, *, warnings, dry_run=False, **more) -> dict:
    """`prepare`/`finalize` → {snapshot, files_transferred, bytes_transferred, seconds, warnings, …}."""
    restore = restore or {}
    return {"step": step, "state": state, "dry_run": dry_run, "snapshot": restore.get("snapshot"),
            "files_transferred": restore.get("files_transferred", 0),
            "bytes_transferred": restore.get("bytes_transferred", 0),
            "seconds": restore.get("seconds", 0.0), "warnings": list(dict.fromkeys(warnings)),
            "restore": restore or None, **more}


def exit_status(report: dict) -> ExitStatus:
    return ExitStatus.WARNINGS if report.get("warnings") else ExitStatus.SUCCESS


def preflight_warnings(checks) -> list[str]:
    return [f"preflight {c['name']}: {c['status']}: {c['summary']}" for c in checks or ()
            if c.get("status") in ("warn", "fail")]


def human(report: dict) -> str:
    """A few lines: what was restored, mail, preflight, warnings, what comes next."""
    from travelsync.restore.report import RestoreReport, human as restore_human

    lines = []
    restore = report.get("restore")
    if restore:
        fields = {k: restore[k] for k in ("snapshot", "target", "paths", "dry_run", "files_transferred",
                                          "bytes_transferred", "total_size", "seconds", "deleted")
                  if k in restore}
        lines.append(restore_human(RestoreReport(**fields, displaced_folder=restore.get("displaced_folder"),
                                                 displaced=restore.get("displaced", []),
                                                 changes=restore.get("changes", []),
                                                 change_count=restore.get("change_count", 0))))
    for line in report.get("notes", []):
        lines.append(line)
    lines += mail_lines(report.get("mail"))
    for check in report.get("preflight") or []:
        lines.append(f"preflight {check['name']}: {check['status']}: {check['summary']}")
    for warning in report.get("warnings", []):
        lines.append(f"warning: {warning}")
    if report.get("next"):
        lines.append("next:")
        lines += [f"  {line}" for line in report["next"]]
    state = report.get("state")
    if state and not report.get("dry_run"):
        lines.append(f"trip state: {state}")
    return "\n".join(lines)


def mail_lines(mail) -> list[str]:
    """What the step did to, or found in, each mail client's file (pure): prepare's switches
    (with the diff on a dry run) and finalize's checks of the laptop's restored copies."""
    lines = []
    for entry in mail or ():
        where = f"{entry.get('kind')} {entry.get('file') or '(no file)'}"
        if "action" not in entry:  # finalize: the laptop's restored copy
            if entry.get("mode") is None:
                lines.append(f"mail: laptop's {where}: {entry.get('note') or 'not checked'}")
            else:
                verdict = {"keep": "keeps mail on the server",
                           "none": "has no account that deletes mail on the server"}.get(
                    entry["mode"], f"is in {entry['mode']!r} mode")
                lines.append(f"mail: laptop's {where} checked: {verdict}")
            continue
        if entry.get("changed") and entry.get("dry_run"):
            lines.append(f"mail: {where}: would switch to keep on the server (now {entry.get('mode_before')}):")
            lines += [f"  {line}" for line in (entry.get("diff") or "").splitlines()]
        elif entry.get("changed"):
            lines.append(f"mail: {where}: switched to keep on the server (was {entry.get('mode_before')})")
        elif entry.get("mode") == "keep":
            lines.append(f"mail: {where}: already keeps mail on the server")
        elif entry.get("mode") == "none":  # IMAP only: nothing to switch
            lines.append(f"mail: {where}: nothing in it deletes mail on the server; left as it is")
            continue
        else:
            lines.append(f"mail: {where}: left as it is ({entry.get('mode')})")
        lines += [f"  {note}" for note in entry.get("notes") or ()]
    return lines
