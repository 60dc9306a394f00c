"""Meetings spoken by espeak-ng voices: the scripts of ``scripts.py``, one voice per role.

Every line is synthesised on its own (espeak-ng, then sox to 16 kHz without dither, so the same
text makes the same samples on every run) and kept in the cache directory; a dialogue is its
lines in order with seeded pauses. Tuning and evaluation dialogues use different scripts and
different voice variants; each split has a pair of voices of the same gender.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.speakers.audio import cache_dir, check_tools, read_wav, resample_to_16k, write_wav
from bench.speakers.item import Item, Split, Utterance, assemble, make_utterance
from bench.speakers.scripts import BUDGET_CALL, CUSTOMER_INTERVIEW, DESIGN_REVIEW, SPRINT_PLANNING

_SYNTH_WORKERS = 8


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (``language+variant``), pitch (0-99) and speed (words per minute)."""

    name: str
    pitch: int = 50
    speed: int = 165

    @property
    def label(self) -> str:
        return f"{self.name}-p{self.pitch}-s{self.speed}"


@dataclass(frozen=True)
class Dialogue:
    name: str
    split: Split
    script: tuple[tuple[str, str], ...]
    cast: dict[str, Voice]
    seed: int
    note: str = ""


DIALOGUES = (
    Dialogue(
        "espeak2_design_review",
        "tuning",
        DESIGN_REVIEW,
        {"A": Voice("en-us+m3", 40, 165), "B": Voice("en-us+f2", 60, 160)},
        41,
        "a man and a woman",
    ),
    Dialogue(
        "espeak4_sprint_planning",
        "tuning",
        SPRINT_PLANNING,
        {
            "A": Voice("en-us+m1", 35, 160),
            "B": Voice("en-us+f4", 55, 170),
            "C": Voice("en-us+m7", 55, 175),
            "D": Voice("en-us+f1", 70, 155),
        },
        42,
        "two men, two women",
    ),
    Dialogue(
        "espeak2_budget_call",
        "evaluation",
        BUDGET_CALL,
        {"A": Voice("en-us+m2", 50, 165), "B": Voice("en-us+m6", 38, 150)},
        43,
        "two men",
    ),
    Dialogue(
        "espeak3_customer_interview",
        "evaluation",
        CUSTOMER_INTERVIEW,
        {
            "A": Voice("en-us+f3", 55, 160),
            "B": Voice("en-us+f5", 70, 170),
            "C": Voice("en-us+m4", 45, 155),
        },
        44,
        "two women, one man",
    ),
)


def load_dialogues() -> list[Item]:
    items = []
    for dialogue in DIALOGUES:
        lines = [(dialogue.cast[role], text) for role, text in dialogue.script]
        utterances = speak(lines)
        items.append(
            assemble(
                dialogue.name,
                "espeak",
                dialogue.split,
                utterances,
                seed=dialogue.seed,
                note=dialogue.note,
            )
        )
    return items


def speak(lines: list[tuple[Voice, str]]) -> list[Utterance]:
    """Each (voice, text) spoken, from the cache where it was spoken before; the voice's label
    is the utterance's speaker."""
    check_tools()
    with ThreadPoolExecutor(_SYNTH_WORKERS) as pool:
        paths = list(pool.map(lambda line: _synthesised(*line), lines))
    return [
        make_utterance(voice.label, read_wav(path))
        for (voice, _), path in zip(lines, paths, strict=True)
    ]


def _synthesised(voice: Voice, text: str) -> Path:
    key = hashlib.sha256(f"{_espeak_version()}|{voice.label}|{text}".encode()).hexdigest()[:24]
    path = cache_dir() / "espeak" / f"{key}.wav"
    if path.exists():
        return path
    with tempfile.TemporaryDirectory(prefix="mina-espeak-") as scratch:
        raw = Path(scratch) / "raw.wav"
        converted = Path(scratch) / "16k.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voice.name,
                "-p",
                str(voice.pitch),
                "-s",
                str(voice.speed),
                "-w",
                str(raw),
                text,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        resample_to_16k(raw, converted)
        # a name of its own beside the target, then an atomic rename: several processes (the
        # test suite's workers) may speak the same line at once
        staged = path.with_name(f".{key}-{os.getpid()}-{threading.get_ident()}.tmp")
        write_wav(staged, read_wav(converted))
    staged.replace(path)
    return path


@cache
def _espeak_version() -> str:
    done = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()
