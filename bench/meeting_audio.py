"""A synthetic "meeting" for the streaming benchmarks: held-out speech clips plus espeak-ng speech.

The utterances are the evaluation clips of ``tests/speechdata.py`` (never used to tune the
pipeline) and a product team's weekly sync written for this benchmark and spoken by espeak-ng.
A stream is the utterances in some order with short pauses between them; its reference text is
their references in the same order. Audio is 16 kHz mono PCM s16le throughout.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from tests.speechdata import load_clips

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2
ESPEAK_VOICE = "en-us"
ESPEAK_WPM = 165
LEAD_SILENCE_S = 0.5
# silence after the last word, so the last utterance ends on a pause like every other one
TAIL_SILENCE_S = 1.5
PAUSE_RANGE_S = (0.5, 1.2)

# A weekly product sync. Plain words only: no digits, abbreviations or names with several
# spellings, so the reference needs no judgement calls.
MEETING_TEXT = [
    "Good morning everyone, thanks for joining the weekly product sync. "
    "Let's start with a quick update from the design team.",
    "The new onboarding screens are finished, and we tested them with a small group of "
    "customers last week.",
    "Most people completed the setup without help, but several of them were confused by the "
    "billing page.",
    "We should simplify that page before the release. I would like engineering to review the "
    "changes on Thursday.",
    "On the engineering side, the search feature is almost ready. We fixed the slow queries and "
    "added better error messages.",
    "The main risk is the mobile app. The login flow still fails on older phones, and we need "
    "another day to find the cause.",
    "Marketing wants to announce the launch at the end of the month, so please tell me today if "
    "that date looks unrealistic.",
    "Before we finish, let's agree on the action items. Sarah will update the billing page, and "
    "David will look into the login problem.",
]


@dataclass(frozen=True)
class Utterance:
    name: str
    pcm: bytes
    reference: str

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


@dataclass(frozen=True)
class Placed:
    """An utterance at its place in a stream (seconds on the stream's audio clock)."""

    name: str
    start_s: float
    end_s: float
    reference: str


@dataclass(frozen=True)
class MeetingStream:
    pcm: bytes
    reference: str
    utterances: list[Placed]

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


def check_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"the streaming benchmark needs {' and '.join(missing)} (make services)")


def read_wav_pcm(path: Path, workdir: Path) -> bytes:
    """The PCM of a WAV file, converted with sox when it is not 16 kHz mono s16."""
    with wave.open(str(path), "rb") as wav:
        ready = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        if ready:
            return wav.readframes(wav.getnframes())
    converted = workdir / f"{path.stem}-16k.wav"
    _sox(path, converted)
    return read_wav_pcm(converted, workdir)


def _sox(source: Path, target: Path) -> None:
    subprocess.run(
        [
            "sox",
            "-D",  # no dither: the same text makes the same samples on every run
            str(source),
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(target),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def synthesise(text: str, name: str, workdir: Path) -> Utterance:
    raw = workdir / f"{name}-espeak.wav"
    subprocess.run(
        ["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WPM), "-w", str(raw), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    converted = workdir / f"{name}.wav"
    _sox(raw, converted)
    return Utterance(name, read_wav_pcm(converted, workdir), text)


def load_utterances(workdir: Path) -> list[Utterance]:
    """The meeting's utterances, evaluation clips spread among the spoken paragraphs."""
    spoken = [synthesise(text, f"sync{i:02d}", workdir) for i, text in enumerate(MEETING_TEXT)]
    clips = [
        Utterance(clip.name, read_wav_pcm(clip.wav, workdir), clip.reference)
        for clip in load_clips("evaluation")
    ]
    utterances = list(spoken)
    step = max(1, len(spoken) // (len(clips) + 1))
    for index, clip in enumerate(clips):
        utterances.insert((index + 1) * step + index, clip)
    return utterances


def _silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE) * 2)


def build_stream(utterances: list[Utterance], seed: int) -> MeetingStream:
    """The utterances in the given order with seeded pauses between them."""
    rng = random.Random(seed)
    parts = [_silence(LEAD_SILENCE_S)]
    position = len(parts[0])
    placed = []
    for index, utterance in enumerate(utterances):
        if index:
            pause = _silence(rng.uniform(*PAUSE_RANGE_S))
            parts.append(pause)
            position += len(pause)
        start = position / BYTES_PER_SECOND
        parts.append(utterance.pcm)
        position += len(utterance.pcm)
        placed.append(
            Placed(utterance.name, start, position / BYTES_PER_SECOND, utterance.reference)
        )
    parts.append(_silence(TAIL_SILENCE_S))
    return MeetingStream(
        pcm=b"".join(parts),
        reference=" ".join(u.reference for u in utterances),
        utterances=placed,
    )


def rotated(utterances: list[Utterance], shift: int) -> list[Utterance]:
    shift %= len(utterances)
    return utterances[shift:] + utterances[:shift]


def long_stream(utterances: list[Utterance], minutes: float, seed: int) -> MeetingStream:
    """At least ``minutes`` of audio: the utterances looped, each pass in a new shuffled order."""
    rng = random.Random(seed)
    order: list[Utterance] = []
    total = 0.0
    while total < minutes * 60:
        shuffled = list(utterances)
        rng.shuffle(shuffled)
        order.extend(shuffled)
        total += sum(u.duration_s + sum(PAUSE_RANGE_S) / 2 for u in shuffled)
    return build_stream(order, seed)


def write_wav(pcm: bytes, path: Path) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
