from travelsync.cli.pending import pending

preflight = pending("preflight", "Check IPv6, tunnel and NAT64 before leaving.", 6)
