"""The summary: 3 to 7 sentences of the meeting chosen by TextRank, spread over its topics.

Sentences are compared by the TF-IDF of their content lemmas; TextRank (PageRank over that
similarity graph) scores how central each is. Points are then picked greedily by maximal
marginal relevance: a sentence like one already picked loses, and so does one from a turn next
to a picked one, while a stretch of the meeting (an nth of it) with no point yet gains. So the
summary covers the meeting's several subjects, not only its most repeated one. A sentence with a
figure (an amount, a count, a date) gains too: figures are what people come back for. Filler
("Good morning everyone", "Thanks all", "Can you hear me") is never a candidate.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np

from mina.insights.base import Point
from mina.insights.local.text import Sentence, content_lemmas, is_filler, tidy

MIN_POINTS = 3
MAX_POINTS = 7
WORDS_PER_POINT = 100
_DAMPING = 0.85
_ITERATIONS = 40
_REDUNDANCY = 1.0
_NEIGHBOUR_PENALTY = 0.35
_UNCOVERED_BONUS = 0.3
_DECIDED_BONUS = 0.15  # a sentence that states a decision
_NUMBER_BONUS = 0.15  # one that says how much, how many or when: figures are what people ask
_NUMBER_ENTITIES = frozenset({"MONEY", "PERCENT", "CARDINAL", "QUANTITY", "DATE", "TIME"})
_NEIGHBOURS = 1  # turns this close to a picked one often say the same
# an action item or a request has its own list: the summary says what was found and discussed
_ACTION_PENALTY = 0.2
_REQUEST = re.compile(
    r"\b(?:can|could|would) you\b|\bplease\b|\byou mind\b|^let's (?:start|begin|move|get)\b"
)
_MAX_CANDIDATES = 1500


def point_count(words: int) -> int:
    return max(MIN_POINTS, min(MAX_POINTS, 3 + words // WORDS_PER_POINT))


def _tfidf(bags: list[list[str]]) -> np.ndarray:
    vocabulary: dict[str, int] = {}
    for bag in bags:
        for word in bag:
            vocabulary.setdefault(word, len(vocabulary))
    document_frequency = Counter(word for bag in bags for word in set(bag))
    matrix = np.zeros((len(bags), max(1, len(vocabulary))), dtype=np.float32)
    for row, bag in enumerate(bags):
        for word, count in Counter(bag).items():
            idf = math.log((1 + len(bags)) / (1 + document_frequency[word])) + 1
            matrix[row, vocabulary[word]] = (1 + math.log(count)) * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-9))


def _textrank(similarity: np.ndarray) -> np.ndarray:
    size = similarity.shape[0]
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    transition = np.where(sums > 0, weights / np.maximum(sums, 1e-9), 1.0 / size)
    rank = np.full(size, 1.0 / size)
    for _ in range(_ITERATIONS):
        rank = (1 - _DAMPING) / size + _DAMPING * transition.T @ rank
    return np.asarray(rank)


def _has_figure(sentence: Sentence) -> bool:
    """Whether the sentence says an amount or a date ("$8,000", "forty users", "in April"),
    beyond "one" and "a couple"."""
    for entity in sentence.span.ents:
        if entity.label_ in _NUMBER_ENTITIES and entity.text.lower() not in {"one", "today"}:
            return True
    return False


def summarise(
    sentences: Sequence[Sentence],
    decided: Collection[int],
    assigned: Collection[int],
    total_words: int,
) -> list[Point]:
    """Summary points in the order they were said; ``decided`` and ``assigned``: indexes of
    the sentences that state a decision or an action item."""
    candidates = [
        s
        for s in sentences
        if not is_filler(s) and len(s.text.split()) >= 5 and not s.lower.startswith("thank")
    ]
    if len(candidates) > _MAX_CANDIDATES:
        step = len(candidates) / _MAX_CANDIDATES
        candidates = [candidates[int(i * step)] for i in range(_MAX_CANDIDATES)]
    if not candidates:
        return []
    bags = [content_lemmas(s.span) for s in candidates]
    vectors = _tfidf(bags)
    similarity = vectors @ vectors.T
    rank = _textrank(similarity)
    score = rank / max(float(rank.max()), 1e-12)
    for row, sentence in enumerate(candidates):
        if sentence.index in decided:
            score[row] += _DECIDED_BONUS
        elif sentence.index in assigned:
            score[row] -= _ACTION_PENALTY
        if sentence.is_question or _REQUEST.search(sentence.lower):
            score[row] -= 0.3
        score[row] += 0.15 * min(1.0, len(bags[row]) / 8)
        if _has_figure(sentence):
            score[row] += _NUMBER_BONUS
    wanted = min(point_count(total_words), len(candidates))
    last = max(1, sentences[-1].index + 1)
    part_of = [min(wanted - 1, s.index * wanted // last) for s in candidates]
    chosen: list[int] = []
    while len(chosen) < wanted:
        covered = {part_of[c] for c in chosen}
        chosen_turns = [candidates[c].turn for c in chosen]
        best, best_value = -1, -math.inf
        for row, sentence in enumerate(candidates):
            if row in chosen:
                continue
            value = float(score[row])
            if chosen:
                value -= _REDUNDANCY * float(similarity[row, chosen].max())
                if any(abs(sentence.turn - turn) <= _NEIGHBOURS for turn in chosen_turns):
                    value -= _NEIGHBOUR_PENALTY
            if part_of[row] not in covered:
                value += _UNCOVERED_BONUS
            if value > best_value:
                best, best_value = row, value
        chosen.append(best)
    points = []
    for row in sorted(chosen, key=lambda r: candidates[r].index):
        text = tidy(candidates[row].text)
        if text:
            points.append(Point(text, candidates[row].segment_id))
    return points
