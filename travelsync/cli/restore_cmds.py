from travelsync.cli.pending import pending

restore = pending("restore", "Copy paths from a snapshot onto the laptop.", 4)
