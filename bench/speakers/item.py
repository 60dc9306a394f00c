"""What the diarization benchmark scores: audio with known turns, and how items are put together.

An item is a recording (real, or assembled here from utterances) with its reference turns and
its split: ``tuning`` items are what a diarizer's thresholds may be chosen on, ``evaluation``
items are held out for reporting.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench.der import SpeakerTurn
from bench.speakers.audio import (
    SAMPLE_RATE,
    normalised,
    scaled,
    silence,
    speech_regions,
    to_float,
)

Split = Literal["tuning", "evaluation"]
Kind = Literal["mix", "espeak", "real"]
SPLITS: tuple[Split, ...] = ("tuning", "evaluation")
KINDS: tuple[Kind, ...] = ("mix", "espeak", "real")

LEAD_S = 0.5  # silence before the first turn and after the last


@dataclass(frozen=True)
class Item:
    """One recording to diarize: 16 kHz mono int16 samples and who speaks when."""

    name: str
    kind: Kind
    split: Split
    pcm: np.ndarray
    turns: tuple[SpeakerTurn, ...]
    note: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SAMPLE_RATE

    @property
    def speakers(self) -> int:
        return len({t.speaker for t in self.turns})

    @property
    def speech_s(self) -> float:
        return sum(t.end_s - t.start_s for t in self.turns)

    def audio(self) -> np.ndarray:
        """The samples as float32 in [-1, 1), what ``diarize`` takes."""
        return to_float(self.pcm)


@dataclass(frozen=True)
class Utterance:
    """One speaker's stretch of speech, trimmed to its speech, at the common level.

    ``phrases`` are its speech regions (seconds from its start): its reference turns once placed.
    """

    speaker: str
    pcm: np.ndarray
    phrases: tuple[tuple[float, float], ...]

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


def make_utterance(speaker: str, pcm: np.ndarray) -> Utterance:
    """``pcm`` trimmed to its speech and normalised, with its phrases."""
    regions = speech_regions(pcm)
    if not regions:
        raise ValueError(f"no speech found for {speaker}")
    first = int(regions[0][0] * SAMPLE_RATE)
    last = int(round(regions[-1][1] * SAMPLE_RATE))
    offset = first / SAMPLE_RATE
    phrases = tuple((round(s - offset, 3), round(e - offset, 3)) for s, e in regions)
    return Utterance(speaker, normalised(pcm[first:last]), phrases)


def cut_utterances(
    speaker: str, pcm: np.ndarray, *, shortest_s: float = 2.0, longest_s: float = 8.0
) -> list[Utterance]:
    """``pcm`` of one speaker cut at pauses into utterances of ``shortest_s``..``longest_s``
    where the pauses allow (a phrase longer than ``longest_s`` stays whole)."""
    phrases = speech_regions(pcm, pause_s=0.25)
    groups: list[list[tuple[float, float]]] = []
    for phrase in phrases:
        if groups:
            start = groups[-1][0][0]
            length = groups[-1][-1][1] - start
            joined = phrase[1] - start
            if length < shortest_s or (length < shortest_s * 2 and joined <= longest_s):
                groups[-1].append(phrase)
                continue
        groups.append([phrase])
    if len(groups) > 1 and groups[-1][-1][1] - groups[-1][0][0] < shortest_s:
        groups[-2].extend(groups.pop())
    pieces = []
    for group in groups:
        first = int(group[0][0] * SAMPLE_RATE)
        last = int(round(group[-1][1] * SAMPLE_RATE))
        pieces.append(make_utterance(speaker, pcm[first:last]))
    return pieces


def assemble(
    name: str,
    kind: Kind,
    split: Split,
    utterances: Sequence[Utterance],
    *,
    seed: int,
    pause_s: tuple[float, float] = (0.3, 1.0),
    gain_db: float = 0.0,
    note: str = "",
) -> Item:
    """The utterances one after another with seeded pauses (and, when ``gain_db``, each a
    seeded ``±gain_db`` louder or quieter); no two overlap."""
    rng = random.Random(seed)
    parts = [silence(LEAD_S)]
    position = len(parts[0])
    turns: list[SpeakerTurn] = []
    for index, utterance in enumerate(utterances):
        if index:
            gap = silence(rng.uniform(*pause_s))
            parts.append(gap)
            position += len(gap)
        pcm = scaled(utterance.pcm, rng.uniform(-gain_db, gain_db)) if gain_db else utterance.pcm
        start_s = position / SAMPLE_RATE
        turns.extend(
            SpeakerTurn(round(start_s + s, 3), round(start_s + e, 3), utterance.speaker)
            for s, e in utterance.phrases
        )
        parts.append(pcm)
        position += len(pcm)
    parts.append(silence(LEAD_S))
    return Item(name, kind, split, np.concatenate(parts), tuple(turns), note)


def take_turns(
    pools: dict[str, list[Utterance]], *, seconds: float, seed: int, longest_s: float = 12.0
) -> list[Utterance]:
    """About ``seconds`` of speech from the pools' speakers taking turns.

    Each speaker talks in proportion to how much speech their pool holds (so a short pool is
    not repeated more than a long one), now and then keeps the floor for another utterance (up
    to about ``longest_s``), and uses their utterances in a seeded order, reshuffled to be used
    again once all are used.
    """
    rng = random.Random(seed)
    speakers = sorted(pools)
    material = {s: sum(u.duration_s for u in pools[s]) for s in speakers}
    queues: dict[str, list[Utterance]] = {s: [] for s in speakers}
    spoken = dict.fromkeys(speakers, 0.0)
    order: list[Utterance] = []
    previous, floor_s = "", 0.0
    while sum(spoken.values()) < seconds or len({u.speaker for u in order}) < len(speakers):
        others = [s for s in speakers if s != previous]
        if previous and floor_s < longest_s / 2 and rng.random() < 0.3:
            speaker = previous
        else:  # the one whose speech has been heard the fewest times so far, give or take
            speaker = min(others, key=lambda s: spoken[s] / material[s] + rng.uniform(0, 0.5))
        if not queues[speaker]:
            queues[speaker] = list(pools[speaker])
            rng.shuffle(queues[speaker])
        utterance = queues[speaker].pop()
        order.append(utterance)
        spoken[speaker] += utterance.duration_s
        floor_s = floor_s + utterance.duration_s if speaker == previous else utterance.duration_s
        previous = speaker
    return order
