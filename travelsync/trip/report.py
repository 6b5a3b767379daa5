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
    for mail in report.get("mail") or []:  # e.g. "no POP account …: left alone" from keep
        for note in mail.get("notes") or ([mail["note"]] if mail.get("note") else []):
            lines.append(f"mail {mail.get('kind')} {mail.get('file') or ''}: {note}")
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
