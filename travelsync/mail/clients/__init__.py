"""One pure module per mail client, found by its `kind` (see travelsync.mail.registry).

Each module defines KIND, AFTER_TRIP_DELETES_KEPT, default_paths, accounts, plan_keep,
plan_revert, validate_argv and refuse_reason; none of them touches a file or a process
except refuse_reason (which may look at files beside the config, e.g. a profile lock).
Optional: CHECKER_PRINTS_SECRETS = True when the checker's output holds passwords (only
the line number of its complaint is then shown); ONE_FILE_PER_ACCOUNT = True when the
client keeps one file per account, so that an entry without `file:` means every one of its
usual files; neutralise, confirm and CHECKER for the check (see travelsync.mail.registry).
"""
