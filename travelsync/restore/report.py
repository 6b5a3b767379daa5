"""What a restore did, in the JSON shape of design §2 (snapshot, files, bytes, seconds, warnings)."""

from dataclasses import dataclass, field

MAX_LISTED = 1000  # changes listed by a dry run; the rest are counted


@dataclass
class RestoreReport:
    snapshot: str
    target: str
    paths: list[str]
    dry_run: bool = False
    files_transferred: int = 0
    bytes_transferred: int = 0  # file data actually sent (rsync's literal data)
    total_size: int = 0  # size of everything the selected paths hold
    seconds: float = 0.0
    deleted: int = 0
    warnings: list[str] = field(default_factory=list)
    displaced_folder: str | None = None
    displaced: list[str] = field(default_factory=list)  # relative to displaced_folder
    changes: list[str] = field(default_factory=list)  # dry run: "itemize-code path", at most MAX_LISTED
    change_count: int = 0
    method: str = "whole"  # "delta": only the change lists since the snapshot the laptop holds (restore/delta.py)

    def to_json(self) -> dict:
        data = {"snapshot": self.snapshot, "files_transferred": self.files_transferred,
                "bytes_transferred": self.bytes_transferred, "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings), "target": self.target, "paths": list(self.paths),
                "total_size": self.total_size, "deleted": self.deleted, "dry_run": self.dry_run,
                "displaced_folder": self.displaced_folder if self.displaced else None,
                "displaced": list(self.displaced), "method": self.method}
        if self.dry_run:
            data["changes"] = list(self.changes)
            data["change_count"] = self.change_count
        return data


def human(report: RestoreReport) -> str:
    """The summary a person reads after a restore."""
    from travelsync.rsync.progress import human_bytes

    verb = "would restore" if report.dry_run else "restored"
    lines = [f"{verb} {', '.join(report.paths)} from {report.snapshot} to {report.target}"]
    if report.dry_run:
        lines += [f"  {change}" for change in report.changes]
        if report.change_count > len(report.changes):
            lines.append(f"  … and {report.change_count - len(report.changes)} more")
        lines.append(f"{report.change_count} changes; nothing was written (dry run)")
    else:
        lines.append(f"{report.files_transferred} files transferred, {human_bytes(report.bytes_transferred)} sent "
                     f"of {human_bytes(report.total_size)}, {report.deleted} deleted, in {report.seconds:.1f} s")
    if report.displaced:
        lines.append(f"{len(report.displaced)} laptop files were moved aside to {report.displaced_folder}:"
                     if report.displaced_folder else
                     f"{len(report.displaced)} files that differed were kept beside themselves:")
        lines += [f"  {name}" for name in report.displaced[:50]]
        if len(report.displaced) > 50:
            lines.append(f"  … and {len(report.displaced) - 50} more")
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)
