"""The result of one `backup` run, and its `--json` shape (design §2)."""

from dataclasses import dataclass, field

from travelsync.exitcodes import ExitStatus


@dataclass
class BackupReport:
    snapshot: str | None  # the new snapshot; for a no-change run, the one it equals
    kind: str
    files_transferred: int = 0
    bytes_transferred: int = 0  # rsync "Literal data": file bytes actually sent
    total_size: int = 0
    seconds: float = 0.0
    warnings: list = field(default_factory=list)
    exit_status: ExitStatus = ExitStatus.SUCCESS
    status: str = "complete"
    dry_run: bool = False
    no_change: bool = False
    resumed: bool = False
    hashed: int = 0  # files the manifest had rsync hash again (followers, resumed leftovers)
    from_rsync: int = 0  # files whose checksum rsync printed as it sent them
    inherited: int = 0  # unchanged files whose line was taken from the parent's manifest
    failed_files: list = field(default_factory=list)  # "<source>: <path> (<reason>)", from rsync's errors

    def to_json(self) -> dict:
        return {"snapshot": self.snapshot, "files_transferred": self.files_transferred,
                "bytes_transferred": self.bytes_transferred, "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings), "kind": self.kind, "status": self.status,
                "total_size": self.total_size, "dry_run": self.dry_run, "no_change": self.no_change,
                "resumed": self.resumed, "exit_status": int(self.exit_status),
                "failed_files": list(self.failed_files)}
