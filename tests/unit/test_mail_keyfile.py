"""The [group] / key=value scanner shared by the Evolution and KMail adapters."""

import pytest

from travelsync.mail.keyfile import scan
from travelsync.mail.model import MailConfigError

TEXT = "# comment\n[Data Source]\nDisplayName=Home POP\nDisplayName[de]=Heim\n\n[Pop Backend]\nKeepOnServer = true\n"


def test_entries_know_their_group_line_and_where_the_value_starts():
    entries, owner = scan(TEXT, "a key file", keys_before_groups=False)
    assert [(e.group, e.key, e.suffixed, e.value, e.line) for e in entries] == [
        ("Data Source", "DisplayName", False, "Home POP", 2),
        ("Data Source", "DisplayName", True, "Heim", 3),
        ("Pop Backend", "KeepOnServer", False, "true", 6)]
    keep = entries[-1]
    line = TEXT.splitlines()[keep.line]
    assert line[keep.value_column:] == "true"
    assert owner == [None, "Data Source", "Data Source", "Data Source", "Data Source", "Pop Backend", "Pop Backend"]


def test_a_key_before_the_first_group_is_refused_only_where_the_format_forbids_it():
    with pytest.raises(MailConfigError) as raised:
        scan("a=1\n[G]\n", "a key file", keys_before_groups=False)
    assert raised.value.line == 1 and "before the first [group]" in str(raised.value)
    entries, _ = scan("a=1\n[G]\nb=2\n", "a KConfig file", keys_before_groups=True)
    assert [(e.group, e.key) for e in entries] == [(None, "a"), ("G", "b")]


@pytest.mark.parametrize("text, line, words", [
    ("", 1, "empty"),
    ("[G]\nkey\n", 2, "neither [group] nor key=value"),
    ("[G\n", 1, "unterminated group name"),
    ("[G]\nk=\x01\n", 2, "binary data (not a key file?)"),
])
def test_garbage_names_its_line(text, line, words):
    with pytest.raises(MailConfigError) as raised:
        scan(text, "a key file", keys_before_groups=True)
    assert raised.value.line == line and words in str(raised.value)
