"""rsync: pure argument building (args), streaming execution (run), --stats parsing (stats),
exit-code meaning (outcome) and the terminal progress bar (progress)."""
