"""Transcription of recorded audio of any length, with any engine, cut into segments like live.

Engines decode at most ~30 s at a time. Here the VAD finds the speech, groups it into chunks of at
most ``MAX_CHUNK_S`` (cut at the quietest moment when one stretch of speech runs longer), and
decodes each chunk with the text before it as prompt. Silence is never decoded. Used by recovery
of interrupted recordings, uploads and ``mina transcribe``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mina.engines.base import AudioArray, SpeechEngine
from mina.live.config import StreamConfig
from mina.live.final_segments import FinalSegment, segment_words
from mina.live.reconcile import TimedWord
from mina.live.vad import WINDOW, create_vad

MAX_CHUNK_S = 25.0
SEARCH_S = 6.0  # where to look for a quiet cut before a chunk's limit


def speech_chunks(
    audio: AudioArray, config: StreamConfig, sample_rate: int
) -> list[tuple[int, int]]:
    """Sample ranges [start, end) to decode: the speech, padded, at most MAX_CHUNK_S each."""
    vad = create_vad(config.vad)
    probabilities = vad.feed(audio)
    if probabilities.size == 0:
        return []
    speech = probabilities >= config.speech_threshold
    pad = int(config.speech_pad_s * sample_rate / WINDOW)
    gap = int(config.pause_s * sample_rate / WINDOW)
    regions: list[list[int]] = []
    for index in np.flatnonzero(speech).tolist():
        if regions and index - regions[-1][1] <= gap:
            regions[-1][1] = index + 1
        else:
            regions.append([index, index + 1])
    limit = int(MAX_CHUNK_S * sample_rate / WINDOW)
    search = int(SEARCH_S * sample_rate / WINDOW)
    chunks: list[tuple[int, int]] = []
    for first, last in regions:
        first, last = max(0, first - pad), min(probabilities.size, last + pad)
        if chunks and last - chunks[-1][0] <= limit:
            chunks[-1] = (chunks[-1][0], last)
            continue
        while last - first > limit:
            window = probabilities[first + limit - search : first + limit]
            cut = first + limit - search + int(np.argmin(window))
            chunks.append((first, cut))
            first = cut
        chunks.append((first, last))
    tail = audio.size
    return [(a * WINDOW, min(tail, b * WINDOW)) for a, b in chunks if b > a]


def transcribe_audio(
    engine: SpeechEngine,
    audio: AudioArray,
    *,
    config: StreamConfig | None = None,
    offset_s: float = 0.0,
    progress: Callable[[float], None] | None = None,
) -> list[FinalSegment]:
    """Segments of ``audio`` (times on a clock starting at ``offset_s``)."""
    config = config or StreamConfig()
    rate = engine.sample_rate
    chunks = speech_chunks(audio, config, rate)
    words: list[TimedWord] = []
    prompt = ""
    total = sum(end - start for start, end in chunks) or 1
    done = 0
    for start, end in chunks:
        shift = offset_s + start / rate
        # these words are stored: a final decode (a beam search over whole windows)
        for word in engine.transcribe(
            audio[start:end], prompt=prompt, language=config.language, final=True
        ):
            if word.text.strip():
                words.append(
                    TimedWord(word.text, word.start + shift, word.end + shift, word.probability)
                )
        prompt = "".join(w.text for w in words[-40:]).strip()[-config.prompt_chars :]
        done += end - start
        if progress is not None:
            progress(done / total)
    return segment_words(words, config)
