"""Turns onto a transcript: each word takes the speaker of its time, a segment is split where
the speaker changes inside it, and the names people gave stick.

A label is *named* when a person set it (rename, inline edit): anything but ``Speaker N``. On
re-labelling, a named label keeps its name on the new speaker whose words overlap its segments
most; every other speaker is ``Speaker N``, N its place in order of first appearance. An edited
segment is never split (its text no longer matches its words): it takes the speaker of most of
its time.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from mina.speakers.diarize import Turn
from mina.store.speakers import Change, Part, SegmentView

AUTO_LABEL = re.compile(r"^Speaker \d+$")
# A change of speaker inside a segment shorter than this (or fewer words) is not a turn.
MIN_PART_MS = 700
MIN_PART_WORDS = 2

# A speaker (its index in the turns) and the words it said in a row.
Run = tuple[int, list[dict[str, Any]]]


def is_named(label: str | None) -> bool:
    return bool(label and label.strip()) and not AUTO_LABEL.match(label or "")


def plan_changes(segments: Sequence[SegmentView], turns: Sequence[Turn]) -> list[Change]:
    """The speaker of every segment (and the splits), from the turns of the meeting's audio."""
    if not turns:
        return []
    starts = [t.start_ms for t in turns]
    pieces: list[tuple[SegmentView, list[tuple[int, list[dict[str, Any]]]]]] = []
    for segment in segments:
        pieces.append((segment, _runs(segment, turns, starts)))
    names = _names(pieces, turns)
    changes = []
    for segment, runs in pieces:
        if len(runs) == 1:
            speaker, _ = runs[0]
            changes.append(
                Change(
                    segment,
                    [
                        Part(
                            segment.text,
                            segment.start_ms,
                            segment.end_ms,
                            segment.words,
                            names[speaker],
                        )
                    ],
                )
            )
            continue
        tokens = segment.text.split()
        parts, used = [], 0
        for speaker, words in runs:
            text = " ".join(tokens[used : used + len(words)])
            used += len(words)
            parts.append(
                Part(
                    text, int(words[0]["start_ms"]), int(words[-1]["end_ms"]), words, names[speaker]
                )
            )
        changes.append(Change(segment, parts))
    return changes


def _runs(segment: SegmentView, turns: Sequence[Turn], starts: list[int]) -> list[Run]:
    """The segment's words grouped into runs of one speaker; one run when it must not split."""
    words = segment.words
    splittable = (
        not segment.edited
        and len(words) >= 2 * MIN_PART_WORDS
        and len(segment.text.split()) == len(words)
    )
    if not words:
        return [
            (
                _speaker_of(
                    segment.offset_ms + segment.start_ms,
                    segment.offset_ms + segment.end_ms,
                    turns,
                    starts,
                ),
                [],
            )
        ]
    spoken = [
        _speaker_of(
            segment.offset_ms + int(w["start_ms"]),
            segment.offset_ms + int(w["end_ms"]),
            turns,
            starts,
        )
        for w in words
    ]
    if not splittable:
        return [(_majority(spoken, words), words)]
    return _absorb_small(
        _regroup([(speaker, [word]) for speaker, word in zip(spoken, words, strict=True)])
    )


def _regroup(runs: list[Run]) -> list[Run]:
    """Neighbouring runs of one speaker as one."""
    joined: list[Run] = []
    for speaker, words in runs:
        if joined and joined[-1][0] == speaker:
            joined[-1] = (speaker, joined[-1][1] + words)
        else:
            joined.append((speaker, words))
    return joined


def _absorb_small(runs: list[Run]) -> list[Run]:
    """Runs too short to be a turn join the neighbour they touch (the one with more words)."""

    def small(run: Run) -> bool:
        words = run[1]
        span = int(words[-1]["end_ms"]) - int(words[0]["start_ms"])
        return len(words) < MIN_PART_WORDS or span < MIN_PART_MS

    while len(runs) > 1:
        index = next((i for i, run in enumerate(runs) if small(run)), None)
        if index is None:
            break
        _, words = runs.pop(index)
        before = runs[index - 1] if index > 0 else None
        after = runs[index] if index < len(runs) else None
        if after is None or (before is not None and len(before[1]) >= len(after[1])):
            speaker, other = runs[index - 1]
            runs[index - 1] = (speaker, other + words)
        else:
            speaker, other = runs[index]
            runs[index] = (speaker, words + other)
        runs = _regroup(runs)
    return runs


def _speaker_of(start_ms: int, end_ms: int, turns: Sequence[Turn], starts: list[int]) -> int:
    """The speaker of most of [start, end), else of the nearest turn."""
    best, best_overlap = -1, 0
    i = max(0, bisect.bisect_right(starts, start_ms) - 1)
    while i < len(turns) and turns[i].start_ms < end_ms:
        overlap = min(end_ms, turns[i].end_ms) - max(start_ms, turns[i].start_ms)
        if overlap > best_overlap:
            best, best_overlap = turns[i].speaker, overlap
        i += 1
    if best >= 0:
        return best
    middle = (start_ms + end_ms) // 2
    nearest = min(
        turns,
        key=lambda t: (
            0
            if t.start_ms <= middle < t.end_ms
            else min(abs(t.start_ms - middle), abs(t.end_ms - middle))
        ),
    )
    return nearest.speaker


def _majority(spoken: list[int], words: list[dict[str, Any]]) -> int:
    time: dict[int, int] = defaultdict(int)
    for speaker, word in zip(spoken, words, strict=True):
        time[speaker] += max(1, int(word["end_ms"]) - int(word["start_ms"]))
    return max(time, key=lambda s: time[s])


def _names(
    pieces: list[tuple[SegmentView, list[tuple[int, list[dict[str, Any]]]]]],
    turns: Sequence[Turn],
) -> dict[int, str]:
    """A label for each speaker: a name people gave, where one overlaps it most, else
    ``Speaker N`` by order of first appearance."""
    overlap: dict[tuple[str, int], int] = defaultdict(int)
    for segment, runs in pieces:
        if not is_named(segment.speaker):
            continue
        assert segment.speaker is not None
        for speaker, words in runs:
            span = (
                int(words[-1]["end_ms"]) - int(words[0]["start_ms"])
                if words
                else segment.end_ms - segment.start_ms
            )
            overlap[(segment.speaker.strip(), speaker)] += max(1, span)
    names: dict[int, str] = {}
    taken: set[str] = set()
    for (name, speaker), _ in sorted(overlap.items(), key=lambda item: -item[1]):
        if speaker in names or name in taken:
            continue
        names[speaker] = name
        taken.add(name)
    for turn in turns:
        names.setdefault(turn.speaker, f"Speaker {turn.speaker + 1}")
    return names
