"""Final segments: closed pieces of transcript, cut from words by the rules the live stream
uses (``segment_words``, also for uploads and recovery), and turned into the segments the store
keeps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from mina import store
from mina.engines.base import ends_sentence
from mina.live.config import StreamConfig
from mina.live.reconcile import TimedWord

CLAUSE_END = (",", ";", ":", "—")


@dataclass(frozen=True)
class FinalSegment:
    """A closed piece of transcript; times in seconds on the session's audio clock."""

    text: str
    start: float
    end: float
    words: list[TimedWord]
    # its audio (for a live speaker label) and that label, when the recorder gives one
    audio: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)
    speaker: str | None = None

    @property
    def confidence(self) -> float | None:
        if not self.words:
            return None
        return float(np.mean([w.probability for w in self.words]))


def capitalise_sentences(words: list[TimedWord], *, sentence_start: bool) -> list[TimedWord]:
    """Upper-case the first letter of each sentence. Confirmed words come from successive
    hypotheses, so a word after a full stop may have been decoded as the middle of a sentence."""
    fixed = []
    for word in words:
        stripped = word.text.lstrip()
        if sentence_start and stripped[:1].islower():
            lead = word.text[: len(word.text) - len(stripped)]
            word = replace(word, text=lead + stripped[0].upper() + stripped[1:])
        fixed.append(word)
        sentence_start = ends_sentence(word.text)
    return fixed


def join_words(words: list[TimedWord]) -> str:
    return "".join(w.text for w in words).strip()


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


def segment_words(
    words: list[TimedWord], config: StreamConfig | None = None, *, sentence_start: bool = True
) -> list[FinalSegment]:
    """Cut a whole transcript's words into segments by the rules the live stream uses:
    a sentence end, a pause between words, or a long segment at a clause end.
    ``sentence_start``: whether the first word begins a sentence (False to continue one)."""
    config = config or StreamConfig()
    segments: list[FinalSegment] = []
    current: list[TimedWord] = []

    def close() -> None:
        nonlocal sentence_start
        if current:
            fixed = capitalise_sentences(current, sentence_start=sentence_start)
            text = join_words(fixed)
            if text:
                segments.append(
                    FinalSegment(text=text, start=fixed[0].start, end=fixed[-1].end, words=fixed)
                )
                sentence_start = ends_sentence(fixed[-1].text)
            current.clear()

    for word in words:
        if current and word.start - current[-1].end >= config.pause_s:
            close()
        current.append(word)
        length = word.end - current[0].start
        if ends_sentence(word.text) and length >= config.min_segment_s:
            close()
        elif length >= config.max_segment_s and word.text.endswith(CLAUSE_END):
            close()
        elif length >= config.max_segment_s * 1.5:
            close()
    close()
    return segments
