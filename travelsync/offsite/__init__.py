"""Off-site copies of the repository (design §9, docs/offsite.md): plain rsync underneath,
gocryptfs where the host is not trusted.

An off-site copy is a repository of the same format (repository/layout.py) kept on another
machine or a mounted disk: `plan.py` decides, purely, which snapshots it lacks and what each
links to; `copies.py` opens a copy as a Repository; `sync.py` copies snapshot by snapshot
(partial → commit, resumable) under the copy's own lock, then applies its retention;
`encrypted.py` puts gocryptfs (`crypt.py`) in between: only ciphertext leaves this machine;
`restore.py` restores from an encrypted copy; `status.py` reports each copy's age.
"""
