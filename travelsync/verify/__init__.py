"""Checksum manifests: written at backup time (manifest.tsv.zst), checked by `verify`."""
