from travelsync.cli.pending import pending

nat64 = pending("nat64", "Discover NAT64 prefixes; synthesize and check addresses.", 7)
