"""`verify`: hash a snapshot's files again and compare them with its manifest."""

from dataclasses import dataclass, field

from travelsync.verify.manifest import read_entries

MAX_LISTED = 1000


@dataclass
class VerifyReport:
    snapshot: str
    checked: int = 0
    corrupted: list = field(default_factory=list)  # contents differ from the manifest
    missing: list = field(default_factory=list)  # in the manifest, not in the snapshot
    extra: list = field(default_factory=list)  # in the snapshot, not in the manifest

    @property
    def ok(self) -> bool:
        return not (self.corrupted or self.missing or self.extra)

    def to_json(self) -> dict:
        show = lambda paths: [p.decode("utf-8", "backslashreplace") for p in paths[:MAX_LISTED]]
        return {"snapshot": self.snapshot, "ok": self.ok, "checked": self.checked,
                "corrupted": show(self.corrupted), "missing": show(self.missing), "extra": show(self.extra)}


def compare(snapshot_id: str, manifest_data: bytes, hashes) -> VerifyReport:
    """manifest_data: the compressed manifest; hashes: (path, sha256) of the files found now."""
    expected = {entry.path: entry.sha256 for entry in read_entries(manifest_data)}
    report = VerifyReport(snapshot_id)
    for path, digest in hashes:
        report.checked += 1
        want = expected.pop(path, None)
        if want is None:
            report.extra.append(path)
        elif want != digest:
            report.corrupted.append(path)
    report.missing = sorted(expected)
    report.corrupted.sort()
    report.extra.sort()
    return report
