"""The off-site copy of the repository: plain rsync underneath, gocryptfs where the host is not trusted."""
