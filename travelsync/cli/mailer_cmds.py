from travelsync.cli.pending import pending

mailer = pending("mailer", "Show or switch mail clients: keep on server, revert.", 5)
