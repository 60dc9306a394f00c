"""Sentiment without a language model: VADER's compound score per segment, a length-weighted
mean per speaker and for the whole meeting (both providers use it).

The language model is never asked about sentiment: VADER is fast, deterministic and tuned for
conversational English, and the scores stay comparable whichever provider made the insights.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from mina.insights.base import Sentiment, SourceSegment

_analyzer: SentimentIntensityAnalyzer | None = None
_analyzer_lock = threading.Lock()


def _get_analyzer() -> SentimentIntensityAnalyzer:
    """The process's one analyzer (it reads its lexicon when built; scoring is read-only)."""
    global _analyzer
    with _analyzer_lock:
        if _analyzer is None:
            _analyzer = SentimentIntensityAnalyzer()
        return _analyzer


def score_sentiment(segments: Iterable[SourceSegment]) -> Sentiment:
    """Compound sentiment in [-1, 1] for each segment with words, each named speaker and the
    meeting, the means weighted by each segment's length in characters."""
    analyzer = _get_analyzer()
    by_segment: dict[int, float] = {}
    speaker_sums: dict[str, tuple[float, int]] = {}
    total, weight = 0.0, 0
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        score = float(analyzer.polarity_scores(text)["compound"])
        by_segment[segment.id] = round(score, 4)
        length = len(text)
        total += score * length
        weight += length
        if segment.speaker:
            summed, count = speaker_sums.get(segment.speaker, (0.0, 0))
            speaker_sums[segment.speaker] = (summed + score * length, count + length)
    return Sentiment(
        overall=round(total / weight, 4) if weight else None,
        by_speaker={name: round(s / n, 4) for name, (s, n) in speaker_sums.items()},
        by_segment=by_segment,
    )
