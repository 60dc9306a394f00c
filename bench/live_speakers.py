"""The live recording's provisional speaker labels, as a diarizer ``bench diarization`` can score.

While recording, each final segment gets a label from ``mina.speakers.live.LiveSpeakers``: its
voice against the voices heard so far, never revised until the diarize job runs after Stop.
``diarize`` here cuts the audio as the live pipeline cuts final segments (Silero's speech,
split at pauses of ``PAUSE_S`` and past ``MAX_SEGMENT_S``) and labels each piece in order, so

    BENCH_DIARIZER=bench.live_speakers:diarize python -m bench diarization

prints the DER and speaker count of the labels a user sees during a meeting, beside those of the
diarize job (``python -m bench diarization``). The count is never given: live labels do not know
it (``speakers`` is ignored).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mina.live.config import StreamConfig
from mina.live.vad import WINDOW, StreamingVad
from mina.speakers.diarize import Embedder, Turn
from mina.speakers.live import LiveSpeakers

SAMPLE_RATE = 16000
PAUSE_S = StreamConfig.pause_s
MAX_SEGMENT_S = StreamConfig.max_segment_s
SPEECH_PAD_S = StreamConfig.speech_pad_s
Audio = npt.NDArray[np.float32]


def live_segments(audio: Audio) -> list[tuple[int, int]]:
    """(start, end) samples of the pieces the live pipeline would make final segments of."""
    probabilities = StreamingVad().feed(np.ascontiguousarray(audio, np.float32))
    voiced = probabilities >= StreamConfig.speech_threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    utterances: list[list[int]] = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        s, e = int(start) * WINDOW, int(end) * WINDOW
        if utterances and s - utterances[-1][1] < PAUSE_S * SAMPLE_RATE:
            utterances[-1][1] = e
        else:
            utterances.append([s, e])
    pad, longest = int(SPEECH_PAD_S * SAMPLE_RATE), int(MAX_SEGMENT_S * SAMPLE_RATE)
    pieces: list[tuple[int, int]] = []
    for index, (s, e) in enumerate(utterances):
        # padded as the stream pads speech, but never into the neighbours' padding
        after = utterances[index + 1][0] if index + 1 < len(utterances) else audio.size
        s = max(pieces[-1][1] if pieces else 0, s - pad)
        e = min(audio.size, e + pad, (e + after) // 2)
        count = max(1, -(-(e - s) // longest))
        bounds = np.linspace(s, e, count + 1).astype(int)
        pieces += [(int(a), int(b)) for a, b in zip(bounds, bounds[1:], strict=False)]
    return pieces


def diarize(
    audio: Audio, *, speakers: int | None = None, encoder: Embedder | None = None
) -> list[Turn]:
    """Each live piece of ``audio`` labelled in order, as the recording labels its segments."""
    live = LiveSpeakers(encoder)
    turns: list[Turn] = []
    for start, end in live_segments(audio):
        label = live.label(audio[start:end])
        if label is None:
            continue
        who = int(label.rsplit(" ", 1)[1]) - 1
        turns.append(Turn(start * 1000 // SAMPLE_RATE, end * 1000 // SAMPLE_RATE, who))
    return turns  # speakers open in order: numbered by first appearance already
