"""Hour-long meetings for the diarizer's time and memory figures, made on the fly.

Three or four speakers take turns with the material reused over and over: two recorded AMI
speakers (every clip of theirs, both splits) and one or two espeak-ng voices reading every
script line. Each turn gets a seeded gain of up to ±3 dB and a pause of 0.2-1.5 s; every few
minutes the room falls silent for 10-30 s. The samples go straight to a file (16 kHz mono
int16, no header) so that making two hours never holds them all in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bench.der import SpeakerTurn
from bench.speakers.audio import SAMPLE_RATE, scaled, silence
from bench.speakers.dialogues import Voice, speak
from bench.speakers.item import Utterance
from bench.speakers.recorded import speaker_pools
from bench.speakers.scripts import ALL_LINES

RECORDED = ("ami-MEO069", "ami-FEE078")
VOICES = (Voice("en-us+m5", 45, 165), Voice("en-us+f3", 62, 160))
PAUSE_S = (0.2, 1.5)
BREAK_EVERY_S = (180.0, 480.0)
BREAK_S = (10.0, 30.0)
GAIN_DB = 3.0


@dataclass(frozen=True)
class LongMeeting:
    name: str
    path: Path
    samples: int
    turns: tuple[SpeakerTurn, ...]

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE

    @property
    def speakers(self) -> int:
        return len({t.speaker for t in self.turns})


def long_pools(speakers: int) -> dict[str, list[Utterance]]:
    """The utterances of the long meetings' first ``speakers`` speakers (3 or 4)."""
    if speakers not in (3, 4):
        raise ValueError("a long meeting has 3 or 4 speakers")
    recorded = speaker_pools()
    pools = {name: recorded[name] for name in RECORDED}
    for voice in VOICES[: speakers - len(RECORDED)]:
        pools[voice.label] = speak([(voice, text) for text in ALL_LINES])
    return pools


def write_long_meeting(
    path: Path, *, minutes: float, pools: dict[str, list[Utterance]], seed: int
) -> LongMeeting:
    """At least ``minutes`` of ``pools``' speakers taking turns, written to ``path``."""
    rng = random.Random(seed)
    target = int(minutes * 60 * SAMPLE_RATE)
    names = sorted(pools)
    turns: list[SpeakerTurn] = []
    position = 0
    next_break = rng.uniform(*BREAK_EVERY_S) * SAMPLE_RATE
    previous = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:

        def put(pcm_bytes: bytes) -> None:
            nonlocal position
            out.write(pcm_bytes)
            position += len(pcm_bytes) // 2

        put(silence(0.5).tobytes())
        while position < target:
            speaker = rng.choice([n for n in names if n != previous])
            utterance = rng.choice(pools[speaker])
            start_s = position / SAMPLE_RATE
            turns.extend(
                SpeakerTurn(round(start_s + s, 3), round(start_s + e, 3), speaker)
                for s, e in utterance.phrases
            )
            put(scaled(utterance.pcm, rng.uniform(-GAIN_DB, GAIN_DB)).astype("<i2").tobytes())
            previous = speaker
            if position >= next_break:
                put(silence(rng.uniform(*BREAK_S)).tobytes())
                next_break = position + rng.uniform(*BREAK_EVERY_S) * SAMPLE_RATE
            else:
                put(silence(rng.uniform(*PAUSE_S)).tobytes())
    name = f"long_{minutes:g}min_{len(names)}spk"
    return LongMeeting(name, path, position, tuple(turns))
