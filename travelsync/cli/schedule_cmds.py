from travelsync.cli.pending import pending

schedule = pending("schedule", "Next runs, the scheduler daemon, cron/systemd files.", 8)
