"""rsync's exit codes that travelsync treats apart (rsync(1) "EXIT VALUES"): the one place
they are written. backup/outcome.py maps them to a backup's outcome, restore/runner.py to a
restore's, verify/sums.py to a checksum listing's; rsync/retry.py retries the transport ones."""

PARTIAL_TRANSFER = 23  # some files could not be transferred
VANISHED = 24  # source files vanished while rsync ran
TRANSPORT_FAILURES = frozenset({10, 12, 30, 35, 255})  # socket/protocol/timeouts/ssh: worth a retry


def is_transport_failure(result) -> bool:
    """rsync ended on a failure of the connection (not of the files): another try may succeed."""
    return not result.signal and result.exit_code in TRANSPORT_FAILURES
