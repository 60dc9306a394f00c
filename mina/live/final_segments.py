"""From the stream's final segments to the segments the store keeps (live recordings, their
recovery after a crash, uploads)."""

from __future__ import annotations

from mina import store
from mina.live.reconcile import TimedWord
from mina.live.streaming import FinalSegment


def to_new_segment(segment: FinalSegment, seq: int) -> store.NewSegment:
    return store.NewSegment(
        seq=seq,
        text=segment.text,
        start_ms=round(segment.start * 1000),
        end_ms=round(segment.end * 1000),
        confidence=segment.confidence,
        speaker=segment.speaker,
        words=[
            {
                "text": w.text.strip(),
                "start_ms": round(w.start * 1000),
                "end_ms": round(w.end * 1000),
                "probability": round(w.probability, 4),
            }
            for w in whole_words(segment.words)
        ],
    )


def whole_words(words: list[TimedWord]) -> list[TimedWord]:
    """Whisper's pieces joined into the words of the text: a piece without a leading space
    ("-hearted" after " cold") continues the word before it. So a segment's ``words`` are its
    text's whitespace-separated words, one for one, as its word count says."""
    joined: list[TimedWord] = []
    for word in words:
        if joined and not word.text[:1].isspace():
            last = joined[-1]
            joined[-1] = TimedWord(
                last.text + word.text,
                last.start,
                word.end,
                min(last.probability, word.probability),
            )
        else:
            joined.append(word)
    return joined
