"""The stream session: PCM in, interim text and final segments out.

One ``StreamSession`` per live recording. The WebSocket handler appends audio with ``feed()``
(cheap, on the event loop) and runs ``step()`` and ``finish()`` in a worker thread: they hold the
CPU work (VAD, decoding). The session never knows which engine it drives.

How a word travels: the VAD gates the audio (silence is never decoded); while someone speaks,
the rolling buffer (at most ``max_buffer_s``) is re-decoded every ``min_step_s`` of new audio
with the stored text as prompt; LocalAgreement settles the words two consecutive decodes agree
on (the interim's ``confirmed`` part). When the speaker pauses, the utterance is decoded once more
as a whole (``final``) and those words become the final segments, cut at sentence ends; an
utterance that outgrows the buffer is final-decoded in parts, each cut after its settled words.
The buffer is trimmed at each closed segment's end. One pass (``two_pass=False``): the settled
words themselves close segments.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mina.audio import pcm16_to_float32
from mina.engines.base import SpeechEngine, ends_sentence
from mina.live.config import StreamConfig
from mina.live.final_segments import CLAUSE_END, FinalSegment, capitalise_sentences, join_words
from mina.live.reconcile import LocalAgreement, TimedWord
from mina.live.vad import WINDOW, create_vad

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interim:
    """What is heard but not yet final: ``confirmed`` will not change, the rest may."""

    text: str
    confirmed: str
    start: float
    end: float


@dataclass
class StepResult:
    finals: list[FinalSegment] = field(default_factory=list)
    interim: Interim | None = None
    interim_changed: bool = False
    decoded: bool = False
    interim_decode_s: float | None = None  # how long this step's streaming decode took
    # words this step settled (LocalAgreement) that the interim's ``confirmed`` text now shows
    settled: list[TimedWord] = field(default_factory=list)


class StreamSession:
    """A growing PCM stream into segments: ``feed`` from any thread, one ``step`` at a time."""

    def __init__(
        self,
        engine: SpeechEngine,
        config: StreamConfig | None = None,
        *,
        start_sample: int = 0,
        prompt: str = "",
    ) -> None:
        self.engine = engine
        self.config = config or StreamConfig()
        self._rate = self.config.sample_rate
        self._pending: list[bytes] = []
        # steps put off by ``defer``: the audio each would have taken, and its arguments
        self._deferred: list[tuple[list[bytes], bool, float | None]] = []
        self._queued_bytes = 0  # in ``_pending`` and ``_deferred``
        self._pending_lock = threading.Lock()
        self._odd_byte = b""
        self._vad = create_vad(self.config.vad)
        # audio of the rolling buffer, and the stream sample its first element is at
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = start_sample
        self._vad.samples_done = start_sample
        self._agreement = LocalAgreement(
            confirmed_until=start_sample / self._rate,
            # one pass, settled words are the stored ones: only agreement settles them
            settle_probability=self.config.settle_probability if self.config.two_pass else None,
            settle_margin_s=self.config.settle_margin_s,
        )
        self._open: list[TimedWord] = []  # confirmed words of the segment being built
        self._prompt = prompt[-self.config.prompt_chars :]
        self._confirmed_sample = start_sample  # end of the last closed segment
        self._emitted_tail: list[TimedWord] = []  # the last words of closed segments
        self._sentence_start = not prompt or ends_sentence(prompt.rstrip())
        self._samples_since_decode = 0
        self._last_speech_end: int | None = None  # stream sample where speech was last heard
        self._speech_since_decode = False
        self._in_speech = False
        # stream samples inside pauses that were heard whole between two steps: cut points
        self._boundaries: list[int] = []
        # where the VAD heard speech ([start, end) stream samples): words elsewhere are invented
        self._speech_spans: list[list[int]] = []
        # Silero's speech probability per 512-sample window, from stream sample _probs_start
        self._probs = np.zeros(0, dtype=np.float32)
        self._probs_start = start_sample
        self._last_interim: Interim | None = None
        self.decodes = 0

    # -- input ---------------------------------------------------------------------------

    def feed(self, pcm: bytes) -> None:
        """Queue raw PCM s16le; cheap enough for the event loop."""
        with self._pending_lock:
            self._pending.append(pcm)
            self._queued_bytes += len(pcm)

    def may_work(self, *, decode_interim: bool = True, step_s: float | None = None) -> bool:
        """Whether a ``step`` now might decode, end an utterance or make a segment; False when
        it would only take the queued audio in, whatever that audio holds. Microseconds (no
        VAD, no copy): the caller ``defer``s such a step instead of running it in a worker.
        Call it between steps, never while one runs."""
        config = self.config
        rate = self._rate
        queued = (len(self._odd_byte) + self._queued_bytes) // 2
        end = self._buffer_end + queued
        if self._boundaries:
            return True
        # a pause (which ends an utterance, or cuts one at a boundary) lies after the last
        # speech heard, or inside the queued audio
        quiet_from = self._buffer_end if self._last_speech_end is None else self._last_speech_end
        if end - quiet_from >= int(config.pause_s * rate):
            return True
        return (
            decode_interim
            and self._samples_since_decode + queued >= (step_s or config.min_step_s) * rate
            and self._buffer.size + queued >= config.min_decode_s * rate
        )

    def defer(self, *, decode_interim: bool = True, step_s: float | None = None) -> None:
        """Put off a step that ``may_work`` judged to do nothing but take audio in: the next
        ``step`` (or ``finish``) runs it first, on the audio queued until now and with these
        arguments, so the stream ends the same as if it had run now."""
        with self._pending_lock:
            if self._pending:
                self._deferred.append((self._pending, decode_interim, step_s))
                self._pending = []

    @property
    def stream_position(self) -> float:
        """Seconds of audio taken into the buffer so far."""
        return (self._buffer_start + self._buffer.size) / self._rate

    # -- processing (worker thread) -------------------------------------------------------

    def step(self, *, decode_interim: bool = True, step_s: float | None = None) -> StepResult:
        """Take queued audio; decode when there is enough new speech. Returns what changed.

        ``decode_interim=False`` (the engine is busy with other streams) skips the streaming
        decode but still ends utterances: final segments never wait for interim text.
        ``step_s``: the new audio a streaming decode waits for (the pacer's choice; default
        ``min_step_s``). Deferred steps run first, each on its own audio.
        """
        deferred, chunks = self._take_queue()
        result = StepResult()
        for queued, interim, queued_step_s in deferred:
            _merge(result, self._step(queued, decode_interim=interim, step_s=queued_step_s))
        _merge(result, self._step(chunks, decode_interim=decode_interim, step_s=step_s))
        return result

    def _step(
        self, chunks: list[bytes], *, decode_interim: bool, step_s: float | None
    ) -> StepResult:
        self._take_pending(chunks)
        result = StepResult()
        config = self.config
        pause = int(config.pause_s * self._rate)
        # pauses that arrived whole (a burst of audio, a backlog after a resume) end utterances
        # exactly where a live stream would have ended them
        boundaries, self._boundaries = self._boundaries, []
        for boundary in boundaries:
            if boundary > self._buffer_start:
                self._finish_utterance(result, until=boundary)
        end_sample = self._buffer_start + self._buffer.size

        if self._last_speech_end is None:
            # no speech since the last segment closed: keep only a short tail of silence
            self._trim_to(end_sample - int(config.speech_pad_s * self._rate))
            return result

        utterance_over = not self._in_speech and end_sample - self._last_speech_end >= pause
        if utterance_over:
            self._finish_utterance(result)
            return result

        if (
            not decode_interim
            or self._samples_since_decode < (step_s or config.min_step_s) * self._rate
            or self._buffer.size < config.min_decode_s * self._rate
        ):
            return result
        self._decode(result)
        return result

    def finish(self) -> StepResult:
        """Stop: decode what is left and confirm everything."""
        deferred, chunks = self._take_queue()
        result = StepResult()
        for queued, interim, queued_step_s in deferred:
            _merge(result, self._step(queued, decode_interim=interim, step_s=queued_step_s))
        self._take_pending(chunks)
        if self._last_speech_end is not None or self._agreement.tentative() or self._open:
            self._finish_utterance(result)
        else:
            self._close_open(result)
        return result

    # -- internals ------------------------------------------------------------------------

    def _take_queue(self) -> tuple[list[tuple[list[bytes], bool, float | None]], list[bytes]]:
        with self._pending_lock:
            deferred, self._deferred = self._deferred, []
            chunks, self._pending = self._pending, []
            self._queued_bytes = 0
        return deferred, chunks

    def _take_pending(self, chunks: list[bytes]) -> None:
        if not chunks:
            return
        data = self._odd_byte + b"".join(chunks)
        if len(data) % 2:
            data, self._odd_byte = data[:-1], data[-1:]
        else:
            self._odd_byte = b""
        audio = pcm16_to_float32(data)
        probabilities = self._vad.feed(audio)
        self._track_speech(probabilities)
        self._probs = np.concatenate([self._probs, probabilities])
        self._buffer = np.concatenate([self._buffer, audio]) if self._buffer.size else audio
        self._samples_since_decode += audio.size

    def _track_speech(self, probabilities: npt.NDArray[np.float32]) -> None:
        first = self._vad.samples_done - probabilities.size * WINDOW
        threshold = self.config.speech_threshold
        pause = int(self.config.pause_s * self._rate)
        pad = int(self.config.speech_pad_s * self._rate)
        for index, probability in enumerate(probabilities):
            window_end = first + (index + 1) * WINDOW
            if probability >= threshold:
                last = self._last_speech_end
                silence = window_end - WINDOW - last if last is not None else 0
                if last is not None and silence >= pause:
                    self._boundaries.append(last + min(pad, silence // 2))
                self._in_speech = True
                self._speech_since_decode = True
                self._last_speech_end = window_end
                spans = self._speech_spans
                if spans and window_end - WINDOW - spans[-1][1] <= pad:
                    spans[-1][1] = window_end
                else:
                    spans.append([window_end - WINDOW, window_end])
            elif probability < threshold - 0.15:
                self._in_speech = False

    def _decode(self, result: StepResult) -> list[TimedWord]:
        """Decode the buffer; confirm what two decodes agree on; close segments; set interim."""
        offset = self._buffer_start / self._rate
        started = time.perf_counter()
        words = self.engine.transcribe(
            self._buffer, prompt=self._prompt, language=self.config.language
        )
        result.interim_decode_s = time.perf_counter() - started
        self.decodes += 1
        result.decoded = True
        self._samples_since_decode = 0
        self._speech_since_decode = False
        confirmed = self._agreement.insert(words, offset, buffer_end=self._buffer_end / self._rate)
        self._open.extend(confirmed)
        result.settled.extend(confirmed)
        if not self.config.two_pass:
            self._close_ready(result)
        if self._unconfirmed_samples() > self.config.max_buffer_s * self._rate:
            self._force_cut(result)
        self._set_interim(result)
        return confirmed

    def _finish_utterance(self, result: StepResult, until: int | None = None) -> None:
        """The speaker paused (or the stream stopped): decode once more and confirm it all.

        ``until`` (a stream sample inside a pause) ends the utterance there; the audio after it
        stays in the buffer for the next one.
        """
        end_sample = self._buffer_start + self._buffer.size if until is None else until
        if self.config.two_pass:
            self._final_pass(result, end_sample)
        elif until is not None or self._samples_since_decode > 0 or not self._agreement.tentative():
            offset = self._buffer_start / self._rate
            words = self.engine.transcribe(
                self._buffer[: end_sample - self._buffer_start],
                prompt=self._prompt,
                language=self.config.language,
            )
            self.decodes += 1
            result.decoded = True
            if until is not None:
                self._agreement.reset_hypothesis()  # it was made of audio past the pause
            self._open.extend(self._agreement.insert(words, offset))
        self._open.extend(self._agreement.flush())
        self._close_ready(result)
        self._close_open(result)
        if until is None:
            self._samples_since_decode = 0
            self._last_speech_end = None
            self._trim_to(end_sample - int(self.config.speech_pad_s * self._rate))
        else:
            self._trim_to(until)
            self._samples_since_decode = self._buffer.size
        self._set_interim(result)

    def _final_pass(self, result: StepResult, end_sample: int) -> None:
        """Decode the utterance once more, as a whole (``final``), and make its words the open
        ones in place of the streamed confirmations."""
        final = self._final_words(
            result, end_sample, streamed=self._open + self._agreement.tentative()
        )
        if final is None:
            return
        self._open = final
        since = self._confirmed_sample / self._rate
        self._agreement.rewind(final[-1].end if final else since, self._emitted_tail + final)

    def _final_words(
        self, result: StepResult, end_sample: int, *, streamed: list[TimedWord]
    ) -> list[TimedWord] | None:
        """The words of one more decode (``final``) of the buffer up to ``end_sample``; None
        when that decode lost words against the ``streamed`` ones (a repeat loop cut short, a
        window Whisper judged silent): the caller keeps those."""
        offset = self._buffer_start / self._rate
        words = self.engine.transcribe(
            self._buffer[: end_sample - self._buffer_start],
            prompt=self._prompt,
            language=self.config.language,
            final=True,
        )
        self.decodes += 1
        result.decoded = True
        fresh = LocalAgreement()
        fresh.rewind(self._confirmed_sample / self._rate, self._emitted_tail)
        fresh.insert(words, offset)
        final = fresh.flush()
        if len(final) < self.config.final_min_share * len(streamed):
            logger.debug(
                "final decode has %d of %d streamed words; keeping the streamed ones",
                len(final),
                len(streamed),
            )
            return None
        return final

    def _close_ready(self, result: StepResult) -> None:
        """Close segments at sentence ends (or clause ends of long segments) in the open words."""
        config = self.config
        while self._open:
            cut = None
            first = self._open[0].start
            for index, word in enumerate(self._open):
                length = word.end - first
                if ends_sentence(word.text) and length >= config.min_segment_s:
                    cut = index
                    break
                if length >= config.max_segment_s and (
                    word.text.endswith(CLAUSE_END) or index == len(self._open) - 1
                ):
                    cut = index
                    break
            if cut is None:
                return
            self._emit(self._open[: cut + 1], result)
            self._open = self._open[cut + 1 :]

    def _close_open(self, result: StepResult) -> None:
        if self._open:
            self._emit(self._open, result)
            self._open = []

    def _force_cut(self, result: StepResult) -> None:
        """Too much unconfirmed audio: close what is confirmed and start the buffer after it.

        Two passes, the confirmed words are decoded once more up to a cut after them (a breath,
        or halfway to the next word heard), so a long utterance is final-decoded in parts."""
        if self.config.two_pass and self._open:
            cut = self._cut_after(self._open[-1])
            final = self._final_words(result, cut, streamed=self._open)
            if final is not None:
                self._open = [w for w in final if w.start * self._rate < cut]
            self._close_open(result)
            self._confirmed_sample = max(self._confirmed_sample, cut)
            self._trim_to(self._confirmed_sample)
        else:
            self._close_open(result)
        limit = self.config.max_buffer_s * self._rate
        if self._unconfirmed_samples() > limit:
            # nothing confirmed for a whole buffer: keep the newest part only
            self._agreement.reset_hypothesis()
            end = self._buffer_start + self._buffer.size
            self._confirmed_sample = end - int(limit / 2)
            self._trim_to(self._confirmed_sample)

    def _cut_after(self, word: TimedWord) -> int:
        """A stream sample to end a final decode at, after ``word`` and before the next word
        heard: the quietest VAD window between them, else halfway."""
        following = self._agreement.tentative()
        end = int(word.end * self._rate)
        if not following:
            return min(end + int(self.config.speech_pad_s * self._rate), self._buffer_end)
        start = max(end, int(following[0].start * self._rate))
        quietest = self._quietest(end, start)
        return (end + start) // 2 if quietest is None else quietest

    @property
    def _buffer_end(self) -> int:
        return self._buffer_start + self._buffer.size

    def _quietest(self, end: int, start: int) -> int | None:
        """The middle of the quietest VAD window from ``end`` to ``start`` (stream samples),
        when Silero judged it not speech; None if the speech ran on."""
        first = (end - self._probs_start) // WINDOW
        last = (start - self._probs_start) // WINDOW + 1
        lo, hi = max(0, first), min(self._probs.size, last)
        if hi <= lo:
            return None
        window = lo + int(np.argmin(self._probs[lo:hi]))
        if self._probs[window] >= self.config.speech_threshold:
            return None
        return self._probs_start + window * WINDOW + WINDOW // 2

    def _unconfirmed_samples(self) -> int:
        end = self._buffer_start + self._buffer.size
        return end - max(self._buffer_start, self._confirmed_sample)

    def _heard(self, word: TimedWord) -> bool:
        """Whether a word overlaps speech the VAD heard (with a little slack at both ends)."""
        slack = int(self.config.speech_pad_s * self._rate)
        start, end = int(word.start * self._rate) - slack, int(word.end * self._rate) + slack
        return any(a < end and start < b for a, b in self._speech_spans)

    def _emit(self, words: list[TimedWord], result: StepResult) -> None:
        kept = [w for w in words if self._heard(w)]
        if len(kept) < len(words):
            logger.debug("dropped words decoded from silence: %r", join_words(words))
        words = capitalise_sentences(kept, sentence_start=self._sentence_start)
        text = join_words(words)
        if not text:
            return
        self._sentence_start = ends_sentence(words[-1].text)
        first = max(0, int(words[0].start * self._rate) - self._buffer_start)
        last = max(first, int(words[-1].end * self._rate) - self._buffer_start)
        segment = FinalSegment(
            text=text,
            start=words[0].start,
            end=words[-1].end,
            words=words,
            audio=self._buffer[first:last].copy(),
        )
        result.finals.append(segment)
        self._prompt = (self._prompt + " " + text).strip()[-self.config.prompt_chars :]
        self._emitted_tail = (self._emitted_tail + words)[-8:]
        # audio before the end of a closed segment is never decoded again
        self._confirmed_sample = max(self._confirmed_sample, int(segment.end * self._rate))
        self._trim_to(self._confirmed_sample)

    def _trim_to(self, sample: int) -> None:
        drop = min(max(0, sample - self._buffer_start), self._buffer.size)
        if drop:
            self._buffer = self._buffer[drop:].copy()
            self._buffer_start += drop
            horizon = self._buffer_start - int(self.config.max_buffer_s * self._rate)
            while self._speech_spans and self._speech_spans[0][1] < horizon:
                self._speech_spans.pop(0)
            stale = (self._buffer_start - self._probs_start) // WINDOW
            if stale > 0:
                self._probs = self._probs[stale:]
                self._probs_start += stale * WINDOW

    def _set_interim(self, result: StepResult) -> None:
        open_words = self._open
        tentative = self._agreement.tentative()
        words = open_words + tentative
        interim = None
        if words:
            interim = Interim(
                text=join_words(words),
                confirmed=join_words(open_words),
                start=words[0].start,
                end=words[-1].end,
            )
        if interim != self._last_interim:
            result.interim_changed = True
            self._last_interim = interim
        result.interim = interim


def _merge(into: StepResult, part: StepResult) -> None:
    """Add what one step changed to what the steps before it in the same call did."""
    into.finals.extend(part.finals)
    into.settled.extend(part.settled)
    if part.interim_changed or part.interim is not None:
        into.interim = part.interim
    into.interim_changed = into.interim_changed or part.interim_changed
    into.decoded = into.decoded or part.decoded
    if part.interim_decode_s is not None:
        into.interim_decode_s = part.interim_decode_s
