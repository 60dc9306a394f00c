"""How often each live stream's buffer is decoded again, from the decode pool's measured load.

A streaming (interim) decode makes the text on screen; the stored text comes from each
utterance's final decode, so the interim step costs CPU, not accuracy. Short steps settle words
sooner (LocalAgreement confirms a word at the second decode that hears it), so a stream steps as
often as ``StreamConfig.min_step_s`` while the replicas have headroom, and less often as streams
share them: each stream's step is what keeps the interim decodes of every stream speaking now
under ``target_busy`` of the replicas' time, never longer than ``max_step_s``. Under more load
than that, interim decodes are skipped (the recorder's ``interim_slots``) and final decodes go
first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

# a stream counts as speaking while it made an interim decode this recently
ACTIVE_S = 3.0
# weight of the newest decode time in the moving average
SMOOTHING = 0.2


class StepPacer:
    """One per process, used from the event loop: ``observe`` each interim decode's seconds,
    ask ``step_s`` before each step."""

    def __init__(
        self,
        *,
        replicas: int,
        min_step_s: float,
        max_step_s: float,
        target_busy: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = max(1, replicas)
        self.min_step_s = min_step_s
        self.max_step_s = max(min_step_s, max_step_s)
        self.target_busy = target_busy
        self._clock = clock
        self.decode_s: float | None = None  # moving average of an interim decode
        # stream -> when it last decoded, oldest first: expiring looks at the oldest only, so
        # ``step_s`` (asked per frame of every stream) costs the same whatever the stream count
        self._last_decode: OrderedDict[str, float] = OrderedDict()

    def observe(self, stream: str, seconds: float) -> None:
        """One interim decode of ``stream`` took ``seconds`` (in its worker thread)."""
        if self.decode_s is None:
            self.decode_s = seconds
        else:
            self.decode_s += SMOOTHING * (seconds - self.decode_s)
        self._last_decode[stream] = self._clock()
        self._last_decode.move_to_end(stream)

    def speaking(self) -> int:
        """Streams that made an interim decode in the last ``ACTIVE_S``."""
        horizon = self._clock() - ACTIVE_S
        last_decode = self._last_decode
        while last_decode and next(iter(last_decode.values())) < horizon:
            last_decode.popitem(last=False)
        return len(last_decode)

    def step_s(self, stream: str) -> float:
        """The new audio ``stream`` should gather before its next interim decode."""
        if self.decode_s is None:
            return self.min_step_s
        streams = self.speaking() + (0 if stream in self._last_decode else 1)
        wanted = streams * self.decode_s / (self.replicas * self.target_busy)
        return min(self.max_step_s, max(self.min_step_s, wanted))
