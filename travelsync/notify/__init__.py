"""Notifications after a backup: a command, a Healthchecks-style ping URL, local mail."""
