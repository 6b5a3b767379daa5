"""The shared line helpers the client modules edit with: every byte not edited survives."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from travelsync.mail import textlines
from travelsync.mail.model import Change

TEXTS = st.text(alphabet="ab =#\r\n", max_size=40)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_split_joins_back_and_rebuild_without_edits_is_the_identity(text):
    lines = textlines.split(text)
    assert "".join(lines) == text
    assert all(line.endswith("\n") for line in lines[:-1])
    assert textlines.rebuild(lines, {}, {}) == text


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(0, 50), st.sampled_from(["key=1", "# added"]))
def test_an_inserted_line_is_removed_again_to_the_same_bytes(text, where, new):
    assume(not text.endswith("\r"))  # a last line ending in a bare CR reads as CRLF once a line follows it
    lines = textlines.split(text)
    at = where % (len(lines) + 1)
    inserted = textlines.rebuild(lines, {}, {at: [new]})
    changes = [Change("a", "key", None, new)]
    undone = textlines.revert_lines(inserted, [None] * len(textlines.split(inserted)), changes, lambda c: None)
    assert undone.new_text == text and undone.warnings == ()


def test_rebuild_keeps_each_lines_ending_and_inserts_with_the_files_first_ending():
    lines = textlines.split("a=1\r\nb=2\nc=3")
    assert textlines.rebuild(lines, {1: "b=0"}, {3: ["d=4"], 0: ["# top"]}) == "# top\r\na=1\r\nb=0\nc=3\r\nd=4"


def test_revert_matches_within_the_scope_and_warns_about_what_is_gone():
    text = "[A]\nkeep=1\n[B]\nkeep=1\n"
    owner = ["A", "A", "B", "B"]
    plan = textlines.revert_lines(text, owner, [Change("B", "keep", "keep=0", "keep=1"),
                                                Change("C", "keep", "keep=0", "keep=1")], lambda c: c.account)
    assert plan.new_text == "[A]\nkeep=1\n[B]\nkeep=0\n"
    assert plan.changes == (Change("B", "keep", "keep=1", "keep=0"),)
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith("C: keep no longer reads")


def test_splice_applies_offset_edits_right_to_left():
    assert textlines.splice("no keep fetchall", [(0, 7, "keep"), (16, 16, " x")]) == "keep fetchall x"
