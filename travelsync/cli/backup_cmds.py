from travelsync.cli.pending import pending

backup = pending("backup", "Take a full or incremental snapshot of the sources.", 3)
snapshots = pending("snapshots", "List the repository's snapshots.", 3)
verify = pending("verify", "Compare a snapshot against its checksum manifest.", 3)
prune = pending("prune", "Delete snapshots that the retention policy lets go.", 3)
