"""Scoring a provider's insights against a script's annotations.

Matching: a predicted action item (or decision) matches an annotated one when the segment it
cites belongs to a turn at most one turn away from the annotated turn (recognised segments carry
the turn they overlap most; a request and its answer are adjacent turns) and the two texts share
at least one key content word: words of three letters or more, not stop words, not the owner's
name, compared after stripping a plural "s" or an "-ing"/"-ed" ending. Each annotated item
matches at most one predicted item, pairs taken best first (most shared words, nearest turn).
Owner and due date are scored over matched items only: the owner is right when it is the
annotated person's name or the label their segments carry ("Speaker 2"); the due date when
both are the same date or both are none. A key point is covered when a summary point cites a
segment of one of its turns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.insights.material import Annotated, Transcript
from mina.insights.base import ActionItem, Insights, Point

TURN_SLACK = 1
_STOP = frozenset(
    """the and for with from that this into onto about your our their his her its you they them
    she him was were are will would could should can have has had not but all any some more
    most also just very too one two few lot get got let make made take want need please then
    than there here when what who which where how why out off over under again once each both
    other such only own same these those does did doing done being been""".split()
)


def key_words(text: str, exclude: Sequence[str] = ()) -> set[str]:
    """The content words of ``text``, crudely stemmed."""
    banned = {word.lower() for name in exclude for word in name.split()}
    words = set()
    for word in re.findall(r"[a-z]+", text.lower().replace("'s", "")):
        if len(word) < 3 or word in _STOP or word in banned:
            continue
        for ending in ("ing", "ed", "es", "s"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                word = word[: -len(ending)]
                break
        words.add(word)
    return words


@dataclass
class Counts:
    """Sums over meetings; rates are computed at the end."""

    predicted: int = 0
    annotated: int = 0
    matched: int = 0
    owner_right: int = 0
    due_right: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.predicted += other.predicted
        self.annotated += other.annotated
        self.matched += other.matched
        self.owner_right += other.owner_right
        self.due_right += other.due_right
        self.misses += other.misses

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.annotated if self.annotated else 1.0

    @property
    def owner_accuracy(self) -> float:
        return self.owner_right / self.matched if self.matched else 0.0

    @property
    def due_accuracy(self) -> float:
        return self.due_right / self.matched if self.matched else 0.0


def match(
    transcript: Transcript,
    predicted: Sequence[ActionItem | Point],
    annotated: Sequence[Annotated],
) -> list[tuple[int, int]]:
    """(predicted index, annotated index) pairs."""
    names = list(transcript.script.voices)
    options = []
    for p, item in enumerate(predicted):
        turn = transcript.turn_of.get(item.segment_id)
        if turn is None:
            continue
        words = key_words(item.text, names)
        for a, gold in enumerate(annotated):
            distance = abs(turn - gold.turn)
            shared = len(words & key_words(gold.text, names))
            if distance <= TURN_SLACK and shared >= 1:
                options.append((-shared, distance, p, a))
    pairs, used_p, used_a = [], set(), set()
    for _, _, p, a in sorted(options):
        if p not in used_p and a not in used_a:
            pairs.append((p, a))
            used_p.add(p)
            used_a.add(a)
    return pairs


def score_actions(transcript: Transcript, insights: Insights) -> Counts:
    script = transcript.script
    pairs = match(transcript, insights.action_items, script.action_items)
    counts = Counts(len(insights.action_items), len(script.action_items), len(pairs))
    for p, a in pairs:
        item, gold = insights.action_items[p], script.action_items[a]
        accepted = {gold.owner.lower(), script.label_of(gold.owner).lower()} if gold.owner else {""}
        if (item.owner or "").lower() in accepted:
            counts.owner_right += 1
        else:
            counts.misses.append(
                f"{script.name}: owner {item.owner!r} for {gold.owner!r} ({gold.text})"
            )
        if item.due_date == gold.due_date:
            counts.due_right += 1
        else:
            counts.misses.append(
                f"{script.name}: due {item.due_date} for {gold.due_date} ({gold.text})"
            )
    matched_a = {a for _, a in pairs}
    matched_p = {p for p, _ in pairs}
    counts.misses += [
        f"{script.name}: missed {g.text!r}"
        for i, g in enumerate(script.action_items)
        if i not in matched_a
    ]
    counts.misses += [
        f"{script.name}: extra {item.text!r}"
        for i, item in enumerate(insights.action_items)
        if i not in matched_p
    ]
    return counts


def score_decisions(transcript: Transcript, insights: Insights) -> Counts:
    script = transcript.script
    pairs = match(transcript, insights.decisions, script.decisions)
    return Counts(len(insights.decisions), len(script.decisions), len(pairs))


def summary_coverage(transcript: Transcript, insights: Insights) -> tuple[int, int]:
    """(key points covered, key points)."""
    turns = {transcript.turn_of.get(point.segment_id) for point in insights.summary}
    points = transcript.script.key_points
    return sum(1 for point in points if turns & set(point.turns)), len(points)
