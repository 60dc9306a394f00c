"""Hypothesis reconciliation: LocalAgreement-2 over successive decodes of a rolling buffer.

Whisper re-decodes the same audio every step and changes its mind near the end of the buffer.
A word is *confirmed* once two consecutive hypotheses agree on it (after the words confirmed
before it), or, optionally, at its first hearing when Whisper is sure of it
(``settle_probability``); confirmed words never change. This follows whisper_streaming's
HypothesisBuffer, with words compared by their normalised form, so "Hello," and "hello" agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mina.engines.base import Word

_NORMALISE = re.compile(r"[^\w']+")
# Words that start earlier than the last confirmed end minus this are echoes of confirmed audio.
_OVERLAP_S = 0.1
_MAX_NGRAM = 5


def normalise_word(text: str) -> str:
    return _NORMALISE.sub("", text.lower())


@dataclass(frozen=True)
class TimedWord:
    """A word on the stream's clock (seconds since the session's audio started).

    ``text`` keeps the engine's spacing (Whisper: a leading space before a new word, none before
    the rest of a split word such as "-hearted"), so joining texts rebuilds the sentence."""

    text: str
    start: float
    end: float
    probability: float

    @property
    def key(self) -> str:
        return normalise_word(self.text)


class LocalAgreement:
    """Confirms the longest common prefix of the last two hypotheses, word by word.

    With ``settle_probability``, a word heard once is confirmed too (after the words confirmed
    before it) when Whisper gave it at least that probability and it ends ``settle_margin_s``
    or more before the end of the decoded buffer, where Whisper changes its mind most."""

    def __init__(
        self,
        confirmed_until: float = 0.0,
        *,
        settle_probability: float | None = None,
        settle_margin_s: float = 0.0,
    ) -> None:
        self.last_confirmed_end = confirmed_until
        self.settle_probability = settle_probability
        self.settle_margin_s = settle_margin_s
        self._previous: list[TimedWord] = []
        self._recent_confirmed: list[TimedWord] = []

    def insert(
        self, words: list[Word], offset: float, *, buffer_end: float | None = None
    ) -> list[TimedWord]:
        """Add a hypothesis (engine words relative to ``offset``); return the newly confirmed.

        ``buffer_end``: where the decoded audio ends (stream seconds); without it, only
        agreement confirms."""
        new = [
            TimedWord(w.text, w.start + offset, w.end + offset, w.probability)
            for w in words
            if w.text.strip()
        ]
        new = [w for w in new if w.start > self.last_confirmed_end - _OVERLAP_S]
        new = self._drop_repeated_prefix(new)
        confirmed: list[TimedWord] = []
        while new and self._previous and new[0].key == self._previous[0].key and new[0].key:
            word = new.pop(0)
            self._previous.pop(0)
            confirmed.append(word)
        if buffer_end is not None and self.settle_probability is not None:
            horizon = buffer_end - self.settle_margin_s
            while (
                new
                and new[0].key
                and new[0].end <= horizon
                and new[0].probability >= self.settle_probability
            ):
                confirmed.append(new.pop(0))
        # a punctuation-only token (key "") never blocks agreement: confirm it with its neighbour
        self._previous = new
        if confirmed:
            self.last_confirmed_end = confirmed[-1].end
            self._recent_confirmed = (self._recent_confirmed + confirmed)[-_MAX_NGRAM:]
        return confirmed

    def tentative(self) -> list[TimedWord]:
        """The latest hypothesis beyond the confirmed words: shown as interim, may still change."""
        return list(self._previous)

    def flush(self) -> list[TimedWord]:
        """Confirm everything (the utterance ended: no more audio can change it)."""
        words, self._previous = self._previous, []
        if words:
            self.last_confirmed_end = words[-1].end
            self._recent_confirmed = (self._recent_confirmed + words)[-_MAX_NGRAM:]
        return words

    def reset_hypothesis(self) -> None:
        self._previous = []

    def rewind(self, confirmed_until: float, recent: list[TimedWord]) -> None:
        """Forget confirmations after ``confirmed_until``: a final decode replaces them."""
        self.last_confirmed_end = confirmed_until
        self._previous = []
        self._recent_confirmed = recent[-_MAX_NGRAM:]

    def _drop_repeated_prefix(self, new: list[TimedWord]) -> list[TimedWord]:
        """Whisper often re-emits the last confirmed words at the start of a decode: drop them."""
        if not new or not self._recent_confirmed:
            return new
        if abs(new[0].start - self.last_confirmed_end) >= 1.0:
            return new
        recent = [w.key for w in self._recent_confirmed]
        for n in range(min(len(recent), len(new), _MAX_NGRAM), 0, -1):
            if recent[-n:] == [w.key for w in new[:n]]:
                return new[n:]
        return new
