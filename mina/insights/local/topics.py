"""Topics: YAKE's key phrases (1-3 words) of the meeting, without people's names, numbers,
speaker labels or filler, 5-10 of them, weighted in (0, 1] with the most central at 1.

YAKE scores a phrase lower the more central it is; the weight is the best score over the
phrase's. Its text is lowercased first: Whisper capitalises unevenly and YAKE would otherwise
prefer capitalised words.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from mina.insights.base import Topic
from mina.insights.local.dates import MONTHS, WEEKDAYS
from mina.insights.local.text import FILLER_WORDS

MAX_TOPICS = 10
_CANDIDATES = 40
_MAX_CHARS = 60_000  # YAKE on a very long meeting reads an even sample of this much text
_NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand million billion first second third fourth fifth half percent dozen
    couple""".split()
)
_NOISE = frozenset(
    """speaker today tomorrow yesterday week weeks day days month months time year years
    meeting call thing things people guys lot way point question idea let's i'm it's that's
    don't we're you're i'll we'll i'd i've can't won't didn't doesn't isn't wasn't there's
    what's he's she's they're pretty little honestly maybe probably quick start end""".split()
)


def _repeats(words: list[str], other: list[str]) -> bool:
    """Whether a phrase says again what a kept one says ("login page" after "login page
    refactor", "offline fix" after "offline mode fix")."""
    return set(words) <= set(other) or len(set(words) & set(other)) >= 2


def _extractor() -> object:
    import yake  # type: ignore[import-untyped]

    return yake.KeywordExtractor(lan="en", n=3, dedup_lim=0.7, top=_CANDIDATES, features=None)


def _sample(text: str) -> str:
    if len(text) <= _MAX_CHARS:
        return text
    pieces, step = 12, len(text) // 12
    width = _MAX_CHARS // pieces
    return " ".join(text[i * step : i * step + width] for i in range(pieces))


def extract_topics(
    text: str, excluded: Iterable[str], nouns: Collection[str], modifiers: Collection[str]
) -> list[Topic]:
    """Key phrases of ``text``; ``excluded``: words never in a topic (names, labels). A phrase
    ends in one of ``nouns`` (words used mostly as nouns) and starts with one of ``modifiers``
    (nouns and adjectives): no "send", "making" or "finished the login"."""
    banned = {word.lower() for word in excluded} | FILLER_WORDS | _NOISE | _NUMBER_WORDS
    banned |= set(WEEKDAYS) | set(MONTHS)
    extractor = _extractor()
    found = extractor.extract_keywords(_sample(text.lower()))  # type: ignore[attr-defined]
    topics: list[tuple[str, float]] = []
    for phrase, score in found:
        words = re.findall(r"[a-z0-9']+", phrase.lower())
        if not words or any(w in banned or any(c.isdigit() for c in w) for w in words):
            continue
        if words[-1] not in nouns or words[0] not in modifiers or len(words[0]) < 3:
            continue
        label = " ".join(words)
        if any(_repeats(words, other.split()) for other, _ in topics):
            continue
        topics.append((label, float(score)))
        if len(topics) == MAX_TOPICS:
            break
    if not topics:
        return []
    best = min(score for _, score in topics)
    return [
        Topic(label, round(min(1.0, max(1e-3, best / max(score, 1e-12))), 3))
        for label, score in topics
    ]
