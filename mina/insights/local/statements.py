"""Decisions and open questions.

A decision is a sentence that says one was made: "we decided", "we've decided", "agreed to",
"we agree", "let's go with", "we'll go with", "the decision is", "final answer is", and a
proposal that opens a sentence ("So let's split it", "let's keep the price"), not one that runs
the meeting ("let's move on", "let's leave that open"). A confirming tag ("We agreed on the
first of May, right?") does not make it a question. A bare "Agreed." or "let's go with that"
names nothing: the decision stated right after it is kept, else the proposal before it ("Maybe
all requests go through the product manager first?"); after a vague "let's", the statement
that spells it out in the same turn ("So let's split it. Twelve thousand on social, eight on
email.").

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
    # a proposal that closes a discussion: "So let's split it", "let's keep the price"; not the
    # meeting's own running ("let's move on", "let's leave that open")
    r"|^(?:(?:so|and|okay|ok|then|alright|fine|right|good|great)[\s,]+)*let's "
    r"(?!(?:get|start|begin|move|kick|dive|wrap|take|leave|make that|talk|circle|park|see|hear|"
    r"check|discuss|go through|"
    r"go over|look|jump|hop|skip|pause|break|continue|do a|have a|quickly|just|not|say|think|try|"
    r"wait|be|hope|call it|meet|sync|catch up|reconvene|chat|revisit|come back|table|finish|"
    r"hold|focus|review|recap|summari[sz]e|assume|use this|spend|give (?:people|everyone|folks|"
    r"it|them)|do (?:the|a|our|this|that|some|introductions?)|make (?:that|this|it|not)|"
    r"[a-z]+ (?:\w+ )?(?:an )?action item)\b)[a-z]+"
)
# "We agreed on the first of May, right?" asks nothing
_TAG_QUESTION = re.compile(r",\s*(?:right|yeah|correct|yes|no)\?$")
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
_ACTING = re.compile(r"\b(?:i'll|i will|let me|i can|can you|could you|please)\b")


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


def _stated_after(sentences: Sequence[Sentence], sentence: Sentence) -> Sentence | None:
    """The sentence after a vague "let's ..." in the same turn when it spells the proposal out:
    a statement, not a question, a request or a commitment."""
    if not re.search(r"\blet's\b", sentence.lower) or sentence.index + 1 >= len(sentences):
        return None
    after = sentences[sentence.index + 1]
    if after.turn != sentence.turn or after.is_question or _ACTING.search(after.lower):
        return None
    return after if len(content_lemmas(after.span)) >= 3 else None


def extract_decisions(sentences: Sequence[Sentence]) -> list[Point]:
    points: list[Point] = []
    used: set[int] = set()
    for sentence in sentences:
        lowered = sentence.lower
        asks = sentence.is_question and not _TAG_QUESTION.search(lowered)
        if not _DECISION.search(lowered) or asks or sentence.index in used:
            continue
        source = sentence
        stated = _stated_after(sentences, sentence)
        if _is_vague(lowered) and stated is not None:
            source = stated  # "So let's split it. Twelve thousand on social, eight on email."
        elif _is_vague(lowered):
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
        text = tidy(_TAG_QUESTION.sub(".", source.text.rstrip()).rstrip("?"))
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
