"""A repository's history from its manifests, never by walking snapshot trees: which
snapshots hold a path (`find`), the versions of one file (`log`), what changed between two
snapshots (`diff`). Every manifest is streamed; memory does not grow with the number of
files (only with what is reported)."""
