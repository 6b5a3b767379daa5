"""Mail clients switched to keep-on-server for a trip and back (design §6).

`clients/<kind>.py`: pure parsing and planning per client (`textlines`: the line edits and
the undo-by-line they share); `registry`: kind → module;
`apply`: the side effects (read, check, replace, remember originals); `service`: what the
CLI and the trip workflow call; `detect`: which clients this machine has.
"""
