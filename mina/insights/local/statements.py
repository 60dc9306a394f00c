"""Decisions and open questions.

A decision is a sentence that says one was made: "we decided", "we've decided", "agreed to",
"we agree", "let's go with", "we'll go with", "the decision is", "final answer is". A bare
"Agreed." or "let's go with that" names nothing: the decision stated right after it is kept, else
the proposal before it ("Maybe all requests go through the product manager first?").

An open question is a question nobody settles: the next turn says it does not know ("not sure",
"good question", "let me check", "get back to you") or nobody answers at all. Sound checks,
pleasantries, requests (which are action items) and questions answered at once are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mina.insights.base import Point
from mina.insights.local.text import Sentence, content_lemmas, is_filler, tidy

_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|we(?: all)? agreed?\b|"
    r"(?:it's |it is |is |was )?agreed (?:to|that|on)|"
    r"decided (?:to|that|on)|let's go (?:with|for)|let us go with|we'll go (?:with|for)|"
    r"we will go (?:with|for)|we're going (?:with|for)|we are going with|"
    r"(?:the|our|my) (?:final )?decision is|final answer is|decision is final|we'll stick with|"
    r"we settled on|we've settled on|we will stick with|so it's settled|that's decided|"
    r"that's (?:the|our|my) (?:final )?(?:call|decision)|final call|that's final)"
)
_REFERS = re.compile(
    r"\b(?:decision is final|that's decided|so it's settled|that's (?:the|our|my) (?:final )?"
    r"(?:call|decision)|final call|that's final)\b"
)
_NAMES_NOTHING = frozenset("that it this one then now okay so on to too all both".split())
_UNSURE = re.compile(
    r"\b(?:not sure|don't know|do not know|no idea|good question|let me check|need to check|"
    r"get back to you|leave that open|to be decided|tbd|haven't decided|we'll see|unclear|"
    r"not decided|nobody knows|find out)\b"
)
_SMALL_TALK = re.compile(
    r"\b(?:hear me|see my screen|see the board|how are you|how was your|how's it going|"
    r"everyone here|can you see|you there|did i miss|who wants to go|want to go first|"
    r"anything else|any questions|how about you|what about you|ready to start|everyone ready|"
    r"is anything blocking|are you blocked|does that make sense|right\?$|okay\?$)"
)
_REQUEST = re.compile(r"\b(?:can|could|would|will) you\b|\bplease\b")


def _is_vague(lowered: str) -> bool:
    """Whether a decision sentence names nothing itself ("let's go with that", "agreed")."""
    refers = _REFERS.search(lowered)
    if refers:
        # "dark mode waits for the next release, that's the call" says it itself
        before = re.findall(r"[a-z']+", lowered[: refers.start()])
        return len([w for w in before if w not in _NAMES_NOTHING and len(w) > 2]) < 3
    found = _DECISION.search(lowered)
    after = lowered[found.end() :] if found else ""
    words = [w for w in re.findall(r"[a-z']+", after) if w not in _NAMES_NOTHING]
    return len(words) < 2


def extract_decisions(sentences: Sequence[Sentence]) -> list[Point]:
    points: list[Point] = []
    used: set[int] = set()
    for sentence in sentences:
        lowered = sentence.lower
        if not _DECISION.search(lowered) or sentence.is_question or sentence.index in used:
            continue
        source = sentence
        if _is_vague(lowered):
            previous = sentences[max(0, sentence.index - 3) : sentence.index]
            substantive = [s for s in previous if len(content_lemmas(s.span)) >= 3]
            if not substantive:
                continue
            source = substantive[-1]
            proposal = set(content_lemmas(source.span))
            following = sentences[sentence.index + 1 : sentence.index + 3]
            if any(
                _DECISION.search(s.lower)
                and not _is_vague(s.lower)
                and len(proposal & set(content_lemmas(s.span))) >= 2
                for s in following
            ):
                continue  # the decision is restated in full right after
        used.add(source.index)
        text = tidy(source.text.rstrip("?"))
        if text and all(p.text != text for p in points):
            points.append(Point(text, source.segment_id))
    return points


def extract_questions(sentences: Sequence[Sentence], requested: set[int]) -> list[Point]:
    """Open questions; ``requested``: indexes of sentences that became action items."""
    by_turn: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        by_turn.setdefault(sentence.turn, []).append(sentence)
    points: list[Point] = []
    for sentence in sentences:
        if not sentence.is_question or sentence.index in requested:
            continue
        lowered = sentence.lower
        if _SMALL_TALK.search(lowered) or _REQUEST.search(lowered) or is_filler(sentence):
            continue
        rest_of_turn = [s for s in by_turn[sentence.turn] if s.index > sentence.index]
        if any(s.is_question for s in rest_of_turn):
            continue  # asked again, better, in the same breath
        answer = by_turn.get(sentence.turn + 1)
        if answer:
            opening = " ".join(s.lower for s in answer[:3])
            if not _UNSURE.search(opening):
                continue
        points.append(Point(tidy(sentence.text), sentence.segment_id))
    return points
