"""The paraphrase retrieval set (``bench/data/paraphrase``): its shape, its split and its rule that
a question shares no content word with the segment that answers it."""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from bench.paraphrase import DATA_DIR, SPLITS, content_stems, load_meetings, load_questions

KINDS = 12
MIN_QUESTIONS = 80
NAMES_SHARE = 0.15


def _names_in(question: str) -> set[str]:
    """The stems of the capitalised words after a question's first: the names it mentions."""
    words = re.findall(r"[A-Za-z]+", question)[1:]
    return {stem for word in words if word[0].isupper() for stem in content_stems(word)}


def test_meetings_are_twelve_kinds_of_spoken_dialogue() -> None:
    meetings = load_meetings()
    assert len(meetings) == KINDS
    assert len({m.id for m in meetings}) == KINDS
    assert len({m.title for m in meetings}) == KINDS
    for meeting in meetings:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", meeting.id), meeting.id
        assert meeting.date.year == 2026, meeting.id
        assert 40 <= len(meeting.segments) <= 70, meeting.id
        assert 2 <= len(meeting.speakers) <= 5, meeting.id
        for segment in meeting.segments:
            assert segment.speaker and segment.text == segment.text.strip() and segment.text


def test_every_question_points_at_a_segment_of_its_meeting() -> None:
    segments = {m.id: len(m.segments) for m in load_meetings()}
    for q in load_questions():
        assert q.meeting in segments, q.question
        assert len(set(q.answers)) == len(q.answers), q.question
        for index in q.answers:
            assert 0 <= index < segments[q.meeting], q.question


def test_no_question_shares_a_content_stem_with_its_answers() -> None:
    meetings = {m.id: m for m in load_meetings()}
    shared = []
    for q in load_questions():
        allowed = _names_in(q.question) if q.names else set()
        for index in q.answers:
            text = meetings[q.meeting].segments[index].text
            common = (content_stems(q.question) & content_stems(text)) - allowed
            if common:
                shared.append(f"{q.meeting}#{index} {q.question!r}: {sorted(common)}")
    assert not shared, "\n".join(shared)


def test_questions_are_enough_spread_and_split() -> None:
    questions = load_questions()
    assert len(questions) >= MIN_QUESTIONS
    per_meeting = Counter(q.meeting for q in questions)
    assert set(per_meeting) == {m.id for m in load_meetings()}
    assert all(5 <= n <= 9 for n in per_meeting.values()), per_meeting
    assert {q.split for q in questions} <= set(SPLITS)
    held_out = load_questions("held_out")
    assert 0.25 <= len(held_out) / len(questions) <= 0.40
    assert len(held_out) + len(load_questions("tuning")) == len(questions)
    assert {q.meeting for q in held_out} == set(per_meeting)
    assert sum(q.names for q in questions) <= NAMES_SHARE * len(questions)


def test_no_duplicate_questions() -> None:
    normalised = [" ".join(re.findall(r"[a-z0-9]+", q.question.lower())) for q in load_questions()]
    assert len(set(normalised)) == len(normalised)


def test_readme_counts_are_current() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    questions = load_questions()
    held_out = load_questions("held_out")
    assert f"{len(questions)} questions" in readme
    assert f"{len(held_out)} of the {len(questions)} questions" in readme


def test_stems_meet_across_common_suffixes() -> None:
    for a, b in [
        ("decide", "decided"),
        ("plan", "planning"),
        ("cost", "costs"),
        ("office", "offices"),
        ("install", "installation"),
        ("pay", "payment"),
        ("company", "companies"),
        ("quick", "quickly"),
        ("move", "moving"),
    ]:
        assert content_stems(a) == content_stems(b), (a, b)
    assert content_stems("What did we decide about it, and when?") == {"decid"}
    assert content_stems("we'll don't it's") == set()


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'", min_size=1, max_size=12)
texts = st.lists(words, max_size=12).map(" ".join)


@given(texts, texts)
def test_content_stems_is_a_union_over_words(a: str, b: str) -> None:
    assert content_stems(f"{a}, {b}!") == content_stems(a) | content_stems(b)


@given(texts)
def test_content_stems_ignores_case_and_keeps_no_stopword(text: str) -> None:
    stems = content_stems(text)
    assert stems == content_stems(text.upper()) == content_stems(text.lower())
    assert all(len(stem) >= 3 for stem in stems)
