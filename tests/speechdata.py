"""The speech clips in ``tests/data/speech`` with their reference texts, and WER scoring.

Clips are split in two (see the folder's README): ``tuning`` clips may be used to choose
parameters and set test bounds; ``evaluation`` clips are held out for reporting benchmarks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SPEECH_DIR = Path(__file__).parent / "data" / "speech"

Split = Literal["tuning", "evaluation"]

SPLITS: dict[str, Split] = {
    "jfk": "tuning",
    "sense_and_sensibility_01_austen_64kb-0870": "tuning",
    "sense_and_sensibility_01_austen_64kb-0880": "tuning",
    "sense_and_sensibility_01_austen_64kb-0890": "evaluation",
    "sense_and_sensibility_01_austen_64kb-0920": "evaluation",
    "sense_and_sensibility_01_austen_64kb-0930": "evaluation",
}

# Spellings Whisper writes that the references spell out.
_EQUIVALENTS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


@dataclass(frozen=True)
class Clip:
    name: str
    wav: Path
    reference: str
    split: Split


def load_clips(split: Split | None = None) -> list[Clip]:
    """The clips (of one split, or all), in name order."""
    clips = []
    for name, clip_split in sorted(SPLITS.items()):
        if split is None or split == clip_split:
            wav = SPEECH_DIR / f"{name}.wav"
            reference = (SPEECH_DIR / f"{name}.txt").read_text(encoding="utf-8").strip()
            clips.append(Clip(name, wav, reference, clip_split))
    return clips


def get_clip(name: str) -> Clip:
    return next(clip for clip in load_clips() if clip.name == name)


def normalize_text(text: str) -> str:
    """Lower case, no punctuation, hyphens as spaces, common abbreviations spelled out."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    return " ".join(_EQUIVALENTS.get(word, word) for word in text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against ``reference`` after ``normalize_text`` on both."""
    import jiwer

    return float(jiwer.wer(normalize_text(reference), normalize_text(hypothesis) or "<empty>"))
