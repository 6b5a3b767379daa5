"""Scheduling: one due-rule (`due.is_due`) shared by cron, systemd and the `schedule run` daemon."""
