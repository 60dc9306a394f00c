"""A deterministic stand-in engine for pipeline tests: every burst of sound becomes one word.

The audio is cut into 10 ms frames; a frame is voiced when its RMS exceeds ``threshold``.
Voiced runs closer than ``min_gap_s`` merge; each run of at least ``min_word_s`` is one word,
timed to the run. Its text comes from the run's dominant frequency: ``" word0007"`` for a peak
near 200 + 7 * 50 = 550 Hz (Whisper's leading-space convention). A word followed, inside the
buffer, by at least ``sentence_gap_s`` of quiet ends with a full stop, as Whisper would write it.

A word depends only on the samples of its own burst, never on where the buffer starts, so
re-transcribing overlapping buffers yields the same words at the same absolute times (within one
frame): what LocalAgreement needs to agree. A burst cut by the buffer's end comes out as the same
word, shorter, and without its full stop, like a real engine hearing half a word. Silence gives
nothing. ``synthesize_words`` makes audio that reads back as chosen words.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mina.engines.base import SAMPLE_RATE, AudioArray, Word, as_audio

FRAME_S = 0.01
BASE_HZ = 200.0
STEP_HZ = 50.0


class FakeEngine:
    """Bursts of sound to ``wordNNNN`` words; see the module docstring. Thread-safe."""

    name = "fake"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        *,
        model_name: str = "bursts",
        threshold: float = 0.02,
        min_gap_s: float = 0.1,
        min_word_s: float = 0.08,
        sentence_gap_s: float | None = 0.6,
        probability: float = 0.9,
        delay_s: float = 0.0,
    ) -> None:
        self.model_name = model_name
        self.threshold = threshold
        self.min_gap_s = min_gap_s
        self.min_word_s = min_word_s
        self.sentence_gap_s = sentence_gap_s
        self.probability = probability
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self.calls = 0

    def transcribe(
        self,
        audio: AudioArray,
        *,
        prompt: str = "",
        language: str | None = None,
        final: bool = False,
    ) -> list[Word]:
        """The words of the bursts in ``audio``; ``prompt``, ``language`` and ``final`` are
        ignored."""
        samples = as_audio(audio)
        with self._lock:
            self.calls += 1
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        frame = round(FRAME_S * self.sample_rate)
        bursts = self._bursts(samples, frame)
        words = []
        for index, (first, last) in enumerate(bursts):
            number = _word_number(samples[first * frame : last * frame], self.sample_rate)
            text = f" word{number:04d}"
            following = bursts[index + 1][0] if index + 1 < len(bursts) else samples.size / frame
            quiet_s = (following - last) * FRAME_S
            if self.sentence_gap_s is not None and quiet_s >= self.sentence_gap_s:
                text += "."
            words.append(Word(text, first * FRAME_S, last * FRAME_S, self.probability))
        return words

    def _bursts(self, samples: AudioArray, frame: int) -> list[tuple[int, int]]:
        """Voiced runs as (first frame, end frame), merged across short gaps, long enough."""
        count = samples.size // frame
        if count == 0:
            return []
        frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
        voiced = np.sqrt(np.mean(frames * frames, axis=1)) > self.threshold
        runs: list[tuple[int, int]] = []
        start: int | None = None
        for index, flag in enumerate(voiced.tolist()):
            if flag and start is None:
                start = index
            elif not flag and start is not None:
                runs.append((start, index))
                start = None
        if start is not None:
            runs.append((start, count))
        merged: list[tuple[int, int]] = []
        max_gap = round(self.min_gap_s / FRAME_S)
        for first, last in runs:
            if merged and first - merged[-1][1] < max_gap:
                merged[-1] = (merged[-1][0], last)
            else:
                merged.append((first, last))
        min_frames = round(self.min_word_s / FRAME_S)
        return [(first, last) for first, last in merged if last - first >= min_frames]


def _word_number(samples: AudioArray, sample_rate: int) -> int:
    """The word number a burst's dominant frequency stands for."""
    size = max(4 * samples.size, 4096)
    nfft = 1 << (size - 1).bit_length()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size), n=nfft))
    spectrum[: int(80 * nfft / sample_rate)] = 0.0  # ignore DC and hum
    peak_hz = float(np.argmax(spectrum)) * sample_rate / nfft
    return max(0, round((peak_hz - BASE_HZ) / STEP_HZ))


def synthesize_words(
    numbers: Sequence[int],
    *,
    word_s: float = 0.4,
    gap_s: float = 0.3,
    lead_s: float = 0.3,
    tail_s: float = 0.3,
    amplitude: float = 0.3,
    sample_rate: int = SAMPLE_RATE,
) -> AudioArray:
    """Audio the fake engine reads as ``word{n:04d}`` for each n (tone bursts, 0 <= n < 150).

    Word i spans ``lead_s + i * (word_s + gap_s)`` to that plus ``word_s``.
    """
    if any(not 0 <= n < 150 for n in numbers):
        raise ValueError("word numbers must lie in [0, 150) to stay below the Nyquist frequency")
    pieces: list[npt.NDArray[np.float32]] = [np.zeros(round(lead_s * sample_rate), np.float32)]
    length = round(word_s * sample_rate)
    t = np.arange(length) / sample_rate
    ramp = min(length // 2, round(0.005 * sample_rate))
    envelope = np.ones(length)
    if ramp:
        fade = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
        envelope[:ramp] = fade
        envelope[-ramp:] = fade[::-1]
    for index, number in enumerate(numbers):
        if index:
            pieces.append(np.zeros(round(gap_s * sample_rate), np.float32))
        tone = amplitude * envelope * np.sin(2 * np.pi * (BASE_HZ + STEP_HZ * number) * t)
        pieces.append(tone.astype(np.float32))
    pieces.append(np.zeros(round(tail_s * sample_rate), np.float32))
    return np.concatenate(pieces)


def create_engine(
    *,
    model: str | None = None,
    data_dir: Path | None = None,
    threshold: float = 0.02,
    min_gap_s: float = 0.1,
    min_word_s: float = 0.08,
    sentence_gap_s: float | None = 0.6,
    probability: float = 0.9,
    delay_s: float = 0.0,
) -> FakeEngine:
    """Registry factory. ``model`` only names the instance; ``data_dir`` is accepted and unused."""
    return FakeEngine(
        model_name=model or "bursts",
        threshold=threshold,
        min_gap_s=min_gap_s,
        min_word_s=min_word_s,
        sentence_gap_s=sentence_gap_s,
        probability=probability,
        delay_s=delay_s,
    )
