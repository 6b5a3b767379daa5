"""The files travelsync writes and reads back, each with its schema and one load function.

`schema.py` checks a document against a TypedDict (pure); `trip.py` (trip.json),
`runs.py` (the repository's runs.json), `mailer.py` (mailer.json) and `snapshot.py`
(snapshot.json) declare each file's version and fields.
"""
