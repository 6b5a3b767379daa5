from travelsync.cli.pending import pending

prepare = pending("prepare", "The day before: restore the last full, mail keeps on server.", 4)
finalize = pending("finalize", "Departure morning: restore the latest delta, check, report.", 4)
return_ = pending("return", "After the trip: mail clients back.", 4)
status = pending("status", "Trip state, last snapshots, next runs, mail-client modes.", 4)
demo = pending("demo", "The whole journey in a temporary sandbox.", 4)
