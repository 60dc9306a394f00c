"""Sentiment with VADER: the compound score of each segment, each speaker's mean weighted by how
much they said, and the meeting's over every word."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from mina.insights.base import Sentiment, SourceSegment

_lock = threading.Lock()
_analyzer: Any = None


def _get_analyzer() -> Any:
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
                    SentimentIntensityAnalyzer,
                )

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def measure_sentiment(segments: Sequence[SourceSegment]) -> Sentiment:
    analyzer = _get_analyzer()
    by_segment: dict[int, float] = {}
    totals: dict[str, list[float]] = {}
    overall_sum = overall_weight = 0.0
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        score = float(analyzer.polarity_scores(text)["compound"])
        by_segment[segment.id] = round(score, 3)
        weight = float(len(text.split()))
        overall_sum += score * weight
        overall_weight += weight
        if segment.speaker is not None:
            pair = totals.setdefault(segment.speaker, [0.0, 0.0])
            pair[0] += score * weight
            pair[1] += weight
    by_speaker = {name: round(s / w, 3) for name, (s, w) in sorted(totals.items()) if w}
    overall = round(overall_sum / overall_weight, 3) if overall_weight else None
    return Sentiment(overall=overall, by_speaker=by_speaker, by_segment=by_segment)
