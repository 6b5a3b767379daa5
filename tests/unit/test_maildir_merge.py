"""Maildir messages as messages (trip/maildir.py): pure."""

from pathlib import PurePosixPath

from travelsync.trip.maildir import MaildirFile, maildir_file, message_id


def test_message_files_of_a_maildir_and_their_unique_names():
    assert maildir_file("Mail/work/cur/1700000000.M1P2.laptop:2,RS") == \
        MaildirFile(PurePosixPath("Mail/work"), "cur", "1700000000.M1P2.laptop")
    assert maildir_file("Mail/new/1700000001.M3P4.laptop") == MaildirFile(PurePosixPath("Mail"), "new",
                                                                           "1700000001.M3P4.laptop")
    assert maildir_file("cur/x:2,") == MaildirFile(PurePosixPath("."), "cur", "x")
    assert maildir_file("Mail/tmp/y").sub == "tmp"
    assert maildir_file("src/app/m1.py") is None and maildir_file("Mail/cur") is None


def test_message_id_from_the_header_only_folded_and_in_any_case():
    assert message_id(b"From: a\nMessage-ID: <x@y>\nSubject: s\n\nbody") == b"<x@y>"
    assert message_id(b"From: a\r\nmessage-id:\r\n <folded@y>\r\n\r\nbody") == b"<folded@y>"
    assert message_id(b"Subject: no id\n\nMessage-ID: <in-the-body@y>\n") is None
    assert message_id(b"") is None
