"""The paraphrase retrieval set: meetings written for Mina and questions about them that share no
content word with the segment that answers them, for evaluating "ask across meetings".

``data/paraphrase/meetings.json`` holds the meetings (``id``, ``title``, ``date``, ``segments`` of
``speaker`` and ``text``); ``data/paraphrase/questions.json`` the questions (``question``,
``meeting``, ``segment``: the index of the answering segment, ``also``: other indexes that answer
it as well, ``names``: the question may share a person's name with its answer, ``split``:
``tuning`` or ``held_out``). ``held_out`` questions are never looked at while tuning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).parent / "data" / "paraphrase"
Split = Literal["tuning", "held_out"]
SPLITS: tuple[Split, ...] = ("tuning", "held_out")

# A standard English stopword list (NLTK's, with the contractions' pieces people say aloud).
STOPWORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own
    same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn
    doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn
    """.split()
)
# Longest first, so "-ations" goes before "-s".
_SUFFIXES = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ions",
    "ion",
    "ers",
    "ing",
    "es",
    "ed",
    "er",
    "ly",
    "s",
)
_WORD = re.compile(r"[a-z0-9]+")
MIN_STEM = 3


@dataclass(frozen=True)
class Segment:
    speaker: str
    text: str


@dataclass(frozen=True)
class Meeting:
    id: str
    title: str
    date: date
    segments: tuple[Segment, ...]

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speakers, in order of first speech."""
        return tuple(dict.fromkeys(segment.speaker for segment in self.segments))


@dataclass(frozen=True)
class Question:
    question: str
    meeting: str
    segment: int
    also: tuple[int, ...]
    split: Split
    names: bool = False

    @property
    def answers(self) -> tuple[int, ...]:
        """Every segment index that answers the question, the main one first."""
        return (self.segment, *self.also)


def load_meetings() -> list[Meeting]:
    data = json.loads((DATA_DIR / "meetings.json").read_text())
    return [
        Meeting(
            id=item["id"],
            title=item["title"],
            date=date.fromisoformat(item["date"]),
            segments=tuple(Segment(s["speaker"], s["text"]) for s in item["segments"]),
        )
        for item in data
    ]


def load_questions(split: Split | None = None) -> list[Question]:
    """The questions, or only those of ``split``."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")
    data = json.loads((DATA_DIR / "questions.json").read_text())
    questions = [
        Question(
            question=item["question"],
            meeting=item["meeting"],
            segment=int(item["segment"]),
            also=tuple(int(index) for index in item.get("also", [])),
            split=item["split"],
            names=bool(item.get("names", False)),
        )
        for item in data
    ]
    return [q for q in questions if split is None or q.split == split]


def content_stems(text: str) -> set[str]:
    """The crude stems (of 3 letters or more) of ``text``'s words that are not stopwords.

    Lowercased and split on anything but letters and digits (so "we'll" is "we" and "ll", both
    stopwords); one common suffix stripped, then a final "e" and a doubled final consonant, so
    that decide/decided and plan/planning meet.
    """
    stems = set()
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if word in STOPWORDS:
            continue
        stem = _stem(word)
        if len(stem) >= MIN_STEM:
            stems.add(stem)
    return stems


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    else:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
                word = word[: -len(suffix)]
                break
    if word.endswith("e") and len(word) > MIN_STEM:
        word = word[:-1]
    if len(word) > MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word
