"""Confirmed-word lag: from the moment a word's audio reached the server to the moment the word
was first sent as settled (an interim's ``confirmed`` text, or its final segment).

``WordLagMeter`` belongs to one live recording. ``mark_audio`` notes when each frame arrived
(by its end's byte offset in the recording); ``observe_words`` takes the (start, end) times of
words now shown as settled and reports each word once, timed to the arrival of its end: a word
counts unless its middle lies inside a word counted before, so the final decode of an
utterance, which times its words a little differently from the streaming decodes that settled
them, does not count them again. Words may come out of order: an utterance's final segments
are sent after their commit, and by then the next utterance may have settled words. Audio
before ``start_s`` (restored from disk on a resume) has no arrival time and is not counted.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable

# how far back arrival times are kept: past the longest an utterance waits for its final decode
KEEP_S = 120.0


class WordLagMeter:
    def __init__(
        self,
        observe: Callable[[float], None],
        *,
        sample_rate: int,
        start_s: float = 0.0,
        known_from_bytes: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._observe = observe
        self._bytes_per_s = sample_rate * 2  # PCM s16le mono
        self._clock = clock
        self._ends: list[int] = []  # byte offset after each frame, ascending
        self._times: list[float] = []  # when that frame arrived
        self._start_s = start_s  # words before this were reported by an earlier process
        self._counted: list[tuple[float, float]] = []  # (start, end) reported, by start
        self._newest_end = start_s  # the end of the latest word reported
        self._known_from = known_from_bytes  # no arrival time known up to here

    def mark_audio(self, total_bytes: int) -> None:
        """Audio up to this byte offset has arrived now (called per frame: cheap)."""
        now = self._clock()
        self._ends.append(total_bytes)
        self._times.append(now)
        if now - self._times[0] > KEEP_S * 2:
            cut = bisect.bisect_left(self._times, now - KEEP_S)
            if cut:
                self._known_from = max(self._known_from, self._ends[cut - 1])
            del self._ends[:cut], self._times[:cut]

    def observe_words(self, words: Iterable[tuple[float, float]]) -> None:
        """These words ((start, end) on the recording's clock) are now settled."""
        now = self._clock()
        for start, end in words:
            middle = (start + end) / 2
            if middle <= self._start_s or self._was_counted(middle):
                continue
            bisect.insort(self._counted, (start, end))
            self._newest_end = max(self._newest_end, end)
            forgotten = bisect.bisect_left(self._counted, (self._newest_end - KEEP_S,))
            del self._counted[:forgotten]
            offset = int(end * self._bytes_per_s)
            index = bisect.bisect_left(self._ends, offset)
            if offset <= self._known_from or index == len(self._ends):
                continue  # no arrival time known (restored from disk, or already forgotten)
            self._observe(max(0.0, now - self._times[index]))

    def _was_counted(self, middle: float) -> bool:
        """Whether ``middle`` lies inside a word reported before; a word older than ``KEEP_S``
        behind the latest one was reported, or has no arrival time left anyway."""
        if middle < self._newest_end - KEEP_S:
            return True
        at = bisect.bisect_right(self._counted, (middle, float("inf")))
        return any(s <= middle <= e for s, e in self._counted[max(0, at - 3) : at])
