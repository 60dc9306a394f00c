"""The transcript as the local provider reads it: turns (a speaker's consecutive segments, joined)
cut into sentences by spaCy, each sentence knowing the segment it starts in.

Whisper cuts segments at pauses, not sentences ("Grace, can you give me access" / "to the
staging database today?"), so sentences are found in the joined turn and mapped back to the
segment holding their first character. Also here: what counts as filler, and tidying a sentence
into a point people read.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mina.insights.base import SourceSegment

CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
BATCH_SIZE = 64
_TURN_GAP_MS = 1500  # unlabelled segments further apart than this are different turns
_MAX_TURN_CHARS = 4000  # a monologue is cut into pieces of about this size for spaCy

# Words that carry no content in meeting talk, beyond spaCy's stop words.
FILLER_WORDS = frozenset(
    """um uh erm hmm mm okay ok yeah yep yes no nope right alright sure well so like just
    really actually basically hi hello hey morning afternoon evening everyone everybody all
    guys folks thanks thank thankyou cheers bye goodbye great good nice cool awesome perfect
    sounds sound fine kind sort lot bit thing things stuff gonna wanna hear see sorry
    minute second question questions""".split()
)
_FILLER_SENTENCE = re.compile(
    r"^(?:(?:hi|hello|hey|good morning|good afternoon|morning|thanks|thank you|okay|ok|so|"
    r"yeah|yes|great|alright|right|well|um|uh)[\s,.!]*)*"
    r"(?:can|could) (?:you|everyone|everybody|you all|y'all) (?:all )?(?:hear|see) (?:me|us|it|"
    r"the board|my screen)|(?:i|we) can (?:hear|see) you|let'?s get started|"
    r"(?:that'?s|that is) (?:it|all|everything)(?: from me)?|have a (?:good|great|nice) "
    r"(?:day|one|weekend)|talk (?:soon|later)|see you|thanks? (?:all|everyone|both|so much)|"
    r"^let'?s (?:get started|start|begin|move on|kick off|dive in|wrap up)\b|\baction item\b",
)
_LEADING_FILLER = re.compile(
    r"^(?:(?:so|um|uh|erm|okay|ok|oh|well|yeah|yes|right|alright|and|also|anyway|now|great|"
    r"good|nice|perfect|sure|like|i mean|you know|then)\b[\s,.!-]*)+",
    re.IGNORECASE,
)
_INNER_FILLER = re.compile(r"\b(?:um|uh|erm|hmm),?\s+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the meeting, in order."""

    index: int
    turn: int  # the speaker turn it is part of (consecutive segments of one speaker)
    segment_id: int
    speaker: str | None
    text: str
    span: Any  # the spaCy Span

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_question(self) -> bool:
        return self.text.rstrip().endswith("?")


@dataclass(frozen=True, slots=True)
class _Turn:
    index: int
    speaker: str | None
    text: str
    starts: tuple[int, ...]  # character offset of each segment in ``text``
    segment_ids: tuple[int, ...]


def _turns(segments: Sequence[SourceSegment]) -> list[_Turn]:
    groups: list[list[SourceSegment]] = []
    for segment in segments:
        if not segment.text.strip():
            continue
        if groups:
            last = groups[-1][-1]
            same = segment.speaker == last.speaker and (
                segment.speaker is not None or segment.start_ms - last.end_ms <= _TURN_GAP_MS
            )
            size = sum(len(s.text) for s in groups[-1])
            if same and size < _MAX_TURN_CHARS:
                groups[-1].append(segment)
                continue
        groups.append([segment])
    turns = []
    for index, group in enumerate(groups):
        starts, parts, offset = [], [], 0
        for segment in group:
            piece = _SPACES.sub(" ", segment.text.strip())
            starts.append(offset)
            parts.append(piece)
            offset += len(piece) + 1
        turns.append(
            _Turn(
                index, group[0].speaker, " ".join(parts), tuple(starts), tuple(s.id for s in group)
            )
        )
    return turns


def read_sentences(nlp: Any, segments: Sequence[SourceSegment]) -> list[Sentence]:
    """The meeting's sentences, in order, each citing the segment it starts in."""
    turns = _turns(segments)
    sentences: list[Sentence] = []
    docs = nlp.pipe((turn.text for turn in turns), batch_size=BATCH_SIZE)
    for turn, doc in zip(turns, docs, strict=True):
        for span in doc.sents:
            text = span.text.strip()
            if not any(ch.isalnum() for ch in text):
                continue
            where = bisect_right(turn.starts, span.start_char) - 1
            sentences.append(
                Sentence(
                    len(sentences), turn.index, turn.segment_ids[where], turn.speaker, text, span
                )
            )
    return sentences


def content_lemmas(span: Any) -> list[str]:
    """Lowercase lemmas of the content words of ``span`` (no stop words, no filler)."""
    words = []
    for token in span:
        if not token.is_alpha or token.is_stop or token.pos_ not in CONTENT_POS:
            continue
        lemma = token.lemma_.lower()
        if lemma in FILLER_WORDS or len(lemma) < 2:
            continue
        words.append(lemma)
    return words


def is_filler(sentence: Sentence) -> bool:
    """Greetings, thanks, sound checks and sign-offs, or too little content to stand alone."""
    lowered = sentence.lower.strip(" .!?,")
    if _FILLER_SENTENCE.search(lowered):
        return True
    return len(content_lemmas(sentence.span)) < 3


def tidy(text: str) -> str:
    """A sentence as a point: no leading "so", "um", "okay so"; no "uh" inside; capitalised;
    ending in punctuation."""
    text = _SPACES.sub(" ", text).strip()
    text = _INNER_FILLER.sub("", text)
    text = _LEADING_FILLER.sub("", text).strip(" ,;-")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    text = re.sub(r"\bi\b", "I", text)
    text = re.sub(r"\bi'(ll|m|d|ve)\b", r"I'\1", text)
    if text[-1] not in ".?!":
        text += "."
    return text
