"""Selective restore: chosen paths of a snapshot onto the laptop (or any target root).

`selection` validates and maps paths (pure), `arguments` builds the rsync command lines
(pure), `places` looks at local or ssh-reached folders, `displaced` lists and tidies what a
restore moved aside, `runner` ties them together and runs rsync.
"""
