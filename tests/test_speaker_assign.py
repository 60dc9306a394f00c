"""Turns onto a transcript: words take the speaker of their time, segments split where the
speaker changes inside them, names people gave stick, edited text is never split."""

from __future__ import annotations

from typing import Any

from mina.speakers.assign import is_named, plan_changes
from mina.speakers.diarize import Turn
from mina.store.speakers import SegmentView


def words(*spans: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"text": t, "start_ms": s, "end_ms": e, "probability": 0.9} for t, s, e in spans]


def view(
    segment_id: int,
    spoken: list[dict[str, Any]],
    *,
    speaker: str | None = None,
    edited: bool = False,
) -> SegmentView:
    return SegmentView(
        id=segment_id,
        session_id=1,
        seq=segment_id,
        text=" ".join(w["text"] for w in spoken),
        start_ms=spoken[0]["start_ms"],
        end_ms=spoken[-1]["end_ms"],
        words=spoken,
        speaker=speaker,
        edited=edited,
    )


TURNS = [Turn(0, 4000, 0), Turn(4000, 9000, 1), Turn(9000, 12000, 0)]
HELLO = words(("Hello", 0, 500), ("there,", 500, 1000), ("how", 1000, 1400), ("are", 1400, 1800))
# one segment: three words of speaker 0, then four of speaker 1 (a change inside it)
MIXED = words(
    ("We", 2000, 2400),
    ("agreed", 2400, 3000),
    ("then.", 3000, 3900),
    ("Yes,", 4100, 4600),
    ("I", 4600, 4800),
    ("think", 4800, 5300),
    ("so.", 5300, 6500),
)


def test_each_segment_takes_the_speaker_of_its_time() -> None:
    changes = plan_changes([view(1, HELLO)], TURNS)
    assert [p.speaker for p in changes[0].parts] == ["Speaker 1"]
    assert not changes[0].split


def test_a_segment_splits_at_the_word_where_the_speaker_changes() -> None:
    change = plan_changes([view(1, HELLO), view(2, MIXED)], TURNS)[1]
    assert change.split
    first, second = change.parts
    assert (first.text, first.speaker) == ("We agreed then.", "Speaker 1")
    assert (second.text, second.speaker) == ("Yes, I think so.", "Speaker 2")
    assert (first.start_ms, first.end_ms, second.start_ms, second.end_ms) == (
        2000,
        3900,
        4100,
        6500,
    )
    assert [w["text"] for w in second.words] == ["Yes,", "I", "think", "so."]


def test_an_edited_segment_is_not_split_and_takes_the_speaker_of_most_of_its_time() -> None:
    change = plan_changes([view(2, MIXED, edited=True)], TURNS)[0]
    assert not change.split
    assert change.parts[0].speaker == "Speaker 2"  # 2.4 s of the second voice, 1.9 s of the first
    assert change.parts[0].text == view(2, MIXED).text


def test_a_one_word_change_is_not_a_turn() -> None:
    blip = [Turn(0, 4000, 0), Turn(4000, 4300, 1), Turn(4300, 9000, 0)]
    spoken = words(
        ("Right,", 3000, 3500),
        ("so", 3600, 3900),
        ("um", 4000, 4300),
        ("we", 4400, 4700),
        ("go.", 4700, 5200),
    )
    change = plan_changes([view(1, spoken)], blip)[0]
    assert not change.split
    assert change.parts[0].speaker == "Speaker 1"


def test_labels_follow_the_order_of_first_appearance() -> None:
    turns = [Turn(0, 4000, 0), Turn(4000, 9000, 1)]
    late = words(("Later", 5000, 5500), ("words", 5500, 6000))
    changes = plan_changes([view(1, HELLO), view(2, late)], turns)
    assert [c.parts[0].speaker for c in changes] == ["Speaker 1", "Speaker 2"]


def test_a_name_sticks_to_the_voice_that_overlaps_it_most() -> None:
    late = words(("Later", 5000, 5500), ("words", 5500, 6000), ("here", 6000, 6500))
    # people named the second voice Grace; the new turns swap which voice came first
    segments = [view(1, HELLO, speaker="Speaker 1"), view(2, late, speaker="Grace")]
    turns = [Turn(0, 4000, 0), Turn(4000, 9000, 1)]
    changes = plan_changes(segments, turns)
    assert [c.parts[0].speaker for c in changes] == ["Speaker 1", "Grace"]
    # the same voices found in another order: the name stays on the voice, not the number
    regrouped = plan_changes(segments, [Turn(0, 4000, 1), Turn(4000, 9000, 0)])
    assert [c.parts[0].speaker for c in regrouped] == ["Speaker 2", "Grace"]


def test_a_name_is_given_to_one_voice_only() -> None:
    both = [
        view(1, HELLO, speaker="Ada"),
        view(2, words(("Yes", 5000, 5600), ("indeed", 5600, 6200)), speaker="Ada"),
    ]
    changes = plan_changes(both, [Turn(0, 4000, 0), Turn(4000, 9000, 1)])
    assert [c.parts[0].speaker for c in changes] == ["Ada", "Speaker 2"]


def test_no_turns_change_nothing() -> None:
    assert plan_changes([view(1, HELLO, speaker="Ada")], []) == []


def test_named_labels() -> None:
    assert is_named("Ada") and is_named("Speaker one")
    assert not is_named("Speaker 3") and not is_named(None) and not is_named("  ")
