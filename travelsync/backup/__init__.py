"""The backup engine: choose full or incremental, run rsync per source into a partial
snapshot, write the manifest, commit atomically. `engine.run_backup` is the entry point."""
