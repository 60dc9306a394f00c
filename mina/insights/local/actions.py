"""Action items: the commitments and requests of a meeting, with an owner and a due date.

Recognised, in lowercase or capitalised text, punctuated or not:
- commitments: "I'll ...", "I will ...", "I can take ...", "let me ...", "I need to ...";
  "X will ..." for a person X; "he'll ..." for the person just named;
- requests: "can you / could you / would you ...", "please ...", "Bob, send ..." (a name and an
  imperative); not the requests a meeting answers on the spot ("can you hear me", "walk us
  through ...");
- "action item: ...", and "let's make that an action item (for X)", whose item is the sentence
  after it when that is one, else the one before;
- "we need to ... by <date>", "someone should / needs to ...", "we need someone to ...",
  "can someone ...";
- as speech recognition mangles them: a commitment whose "'ll" was lost ("I run the numbers by
  Friday", "He send it tomorrow": a verb in its base form and a deadline after it), a
  commitment followed by a question in the same sentence ("I'll send it Friday, does that
  work?"), the second commitment of a run-on sentence when the first names nothing.

Owner: the person addressed ("Bob, can you"; a misheard name is the speaker label it sounds
like, "Marko" for "Marco"), or the person named as subject, else the speaker
of a first-person commitment, else whoever answers a request in the next turn ("Sure", "Will
do", "I'll do that"), else None. An answer that only accepts ("I'll do that today") adds its
date to the request instead of making a second item; so does "let me get back to you on Friday"
after a commitment, and a commitment that says how the task just taken on will be done ("I'll
take care of that. I'll check with their counsel by Thursday"). The same commitment said twice
is one item.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date

from mina.insights.base import ActionItem
from mina.insights.local.dates import find_due_dates
from mina.insights.local.owners import (
    SPEAKER_LABEL,
    addressed_person,
    known_names,
    owner_from_labels,
    person_names,
    sounds_like,
)
from mina.insights.local.text import Sentence, content_lemmas

_ADVERBS = (
    r"(?:(?:also|just|please|maybe|probably|then|now|definitely|quickly|first|still|all|"
    r"go ahead and)\s+)*"
)
_COMMIT = re.compile(
    r"\b(?:i'll|i will|i'm going to|i am going to|i'm gonna|i can|i could take|let me|"
    r"i need to|i have to|i've got to|i got to)\s+" + _ADVERBS + r"(?P<body>[a-z].*)"
)
_REQUEST = re.compile(
    r"\b(?:(?:would|do) you mind|(?:can|could|would|will) (?:you|someone|somebody|anyone)|"
    r"(?:if|maybe) (?:you|someone|somebody|anyone) (?:could|can)|(?:someone|somebody|anyone) "
    r"could|(?:we|i) (?:need|want|will need) (?:someone|somebody) to)\s+"
    + _ADVERBS
    + r"(?P<body>[a-z].*)"
)
_PLEASE = re.compile(r"\bplease\s+" + _ADVERBS + r"(?P<body>[a-z].*)")
_GROUP = re.compile(
    r"\b(?:we|you guys|the team)\s+(?:really\s+|also\s+|still\s+)*(?:need|have|must|got)\s+to\s+"
    + _ADVERBS
    + r"(?P<body>[a-z].*)"
)
_SOMEONE = re.compile(
    r"\b(?:someone|somebody)\s+(?:needs to|should|has to|must|will need to)\s+"
    + _ADVERBS
    + r"(?P<body>[a-z].*)"
)
# "I'll" as Whisper sometimes hears it: "I run the numbers by Friday", "He send it tomorrow";
# a commitment only when a verb in its base form follows and a deadline is said after it
_LOST_WILL = re.compile(r"\b(?:i|he|ill)\s+" + _ADVERBS + r"(?P<body>[a-z].*)")
_NOT_LOST_WILL = re.compile(
    r"^(?:have|hope|mean|feel|am|was|do|did|don't|didn't|can't|wonder|wish|remember|forget|"
    r"believe|suppose|assume|understand|reckon|doubt|love|hate|get it|see)\b"
)
# where a sentence Whisper ran together changes clause: a stop, or a comma before a question
# ("I'll send it Friday, does that work?")
_CLAUSE_END = re.compile(
    r"[.!?;](?:\s|$)|,\s+(?=(?:and\s+|but\s+|so\s+)?(?:does|do|did|is|are|was|can|could|"
    r"would|will|should|shall|what|when|where|how|why|who|which|right|okay|ok|yeah|by the way)\b)"
)
_PRONOUN_SUBJECT = re.compile(
    r"\b(?:he'll|she'll|he will|she will|he's going to|she's going to)\s+(?P<body>[a-z].*)"
)
_NAMED = (
    r"\s+(?:will|'ll|is going to|needs to|has to|can take|should)\s+"
    + _ADVERBS
    + r"(?P<body>[a-z].*)"
)
_MARKER = re.compile(r"\baction item\b")
_MARKER_BODY = re.compile(r"\baction items?\s*[:,-]\s*(?P<body>[a-z].{8,})")
_MARKER_OWNER = re.compile(r"\baction item for (?P<name>[a-z][a-z'-]+)")
_FOLLOW_UP = re.compile(
    r"^(?:get back to (?:you|them|him|her)|follow up|circle back|let you know)\b"
)
_CUT = re.compile(
    r"\s+(?:and get back to (?:you|them|him|her)|and let you know|so that|so we|because|though|"
    r"if that's okay|if that works|if you can|if possible)\b.*$|\s*,\s*(?:though|please|then|"
    r"okay|right|thanks|after|once|when|so|does|do|is|are|can|could|would|will|what|where|how|"
    r"why|by the way)\b.*$"
)
_AFFIRM = re.compile(
    r"^(?:sure|yes|yeah|yep|of course|will do|ok|okay|absolutely|no problem|on it|happy to|"
    r"definitely|certainly|consider it done|i can|i'll|i will|can do)\b"
)
# what "can you ..." asks for during the meeting itself, not as a task
_IN_MEETING = re.compile(
    r"^(?:hear|see|walk (?:us|me)|tell (?:us|me)|repeat|explain|speak|say|go (?:first|ahead|on)|"
    r"share (?:your|the) screen|mute|unmute|give (?:us|me) an update|remind (?:us|me)|clarify|"
    r"elaborate|describe|imagine|believe|introduce|hold on|wait|stop sharing|talk (?:us|me)|"
    r"start (?:us|off)|kick (?:us|it) off|read|confirm that you)\b"
)
# verbs after "I'll" / "I can" that commit to nothing
# verbs after "I'll" / "I can" / "let me" that commit to nothing, or only to something done in
# the meeting itself ("let me share my screen", "I'll walk you through it")
_NOT_TASK = re.compile(
    r"^(?:(?:be|go|say|think|hear|see|guess|bet|admit|imagine|need|want|like|love|agree|know|"
    r"tell you|start with|pass|leave it|stop|hand (?:it )?over|keep it short|skip|answer that|"
    r"speak|explain|mention|repeat|summari[sz]e|recap|begin|jump in|chime in|"
    r"take (?:a look at )?(?:that|this) question)\b(?!\s+(?:through|up|over)\b)|"
    r"(?:share|present) (?:my|the|your) screen|stop sharing|pull (?:it |that |this )?up|"
    r"open (?:it|that|the doc)|scroll|switch (?:over|to)|show (?:you|us|everyone)|"
    r"walk (?:you|us|everyone) through|go (?:over|through) (?:it|this|that|the)|"
    r"give (?:you|us|everyone) (?:a|an|the) (?:quick )?(?:update|overview|summary|recap)|"
    r"talk about|answer (?:it|that|this)|be quick|quickly add)"
)
_ARGUMENTS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr"})
_ARTICLES = frozenset({"the", "a", "an", "our", "your", "their", "my", "his", "her"})
# a second commitment of the same sentence starts a new task: "I can sell that to them, I'm
# going to redline the sections"
_NEXT_COMMITMENT = re.compile(
    r",?\s+(?:and\s+|so\s+|then\s+)?(?:i'll|i will|i'm going to|i'm gonna|i can|let me|i need to)\b"
)
_MIN_COMMITMENT_WORDS = 3  # "I'll take that" (heard "take net") alone commits to nothing
_TO_RECIPIENT = re.compile(r"\b(send|give|show|email|forward|get|book) (?:you|us) ")
_ANOTHER = re.compile(r"\b(?:also|as well|too|another|separately|on top of that)\b")
_TRAILING = re.compile(r"[\s,;:.!?-]+$")
_LEADING = re.compile(r"^(?:(?:and|also|then|just|maybe|please|to)\s+)+")


@dataclass(frozen=True, slots=True)
class _Item:
    sentence: Sentence
    body: str
    owner: str | None
    due: date | None
    waiting: bool  # a request whose owner may be whoever answers it
    kind: str
    accepted: bool = False  # someone said yes to it already


def _is_pronoun_only(
    sentence: Sentence, body_start: int, body_end: int, date_spans: list[tuple[int, int]]
) -> bool:
    """Whether the body names nothing (\"do that\", \"send it today\", \"include both\").
    A word after "the" names something, whatever the tagger made of it ("the updated quote"
    with "quote" tagged as an interjection), and so does an adjective or a number as subject or
    object ("make sure legal has everything")."""
    base = sentence.span.start_char
    for token in sentence.span:
        offset = token.idx - base
        if offset < body_start or offset >= body_end:
            continue
        if any(a <= offset < b for a, b in date_spans):
            continue
        if token.pos_ in {"NOUN", "PROPN"} and token.lower_ not in {"course", "problem"}:
            return False
        if token.pos_ in {"ADJ", "NUM"} and token.dep_ in _ARGUMENTS:
            return False  # "make sure legal has everything", "send the two"
        after_article = token.i > 0 and token.doc[token.i - 1].lower_ in _ARTICLES
        if after_article and token.is_alpha and token.pos_ not in {"PRON", "DET", "ADP"}:
            return False
    return True


def _base_form(sentence: Sentence, body_start: int, body: str) -> str:
    """ "setting up the tests" (after "would you mind") as "set up the tests"; "try to send"
    as "send"."""
    body = re.sub(
        r"^(?:(?:try|trying) (?:and |to )|(?:be|being) able to )", "", body, flags=re.IGNORECASE
    )
    start = sentence.span.start_char + body_start
    for token in sentence.span:
        if token.idx == start and token.tag_ == "VBG" and body.lower().startswith(token.lower_):
            return str(token.lemma_) + body[len(token.text) :]
    return body


def _tidy_body(body: str, reference: date, *, speaker: str | None, owner: str | None) -> str:
    for due in reversed(find_due_dates(body, reference)):
        body = body[: due.start] + body[due.end :]
    body = _CUT.sub("", body)
    body = re.split(r"[?.!]", body, maxsplit=1)[0]
    body = _TRAILING.sub("", re.sub(r"\s+", " ", body)).strip()
    body = _LEADING.sub("", body)
    body = re.sub(r"\s+(?:for|to) you$", "", body)
    body = _TO_RECIPIENT.sub(r"\1 ", body)
    if speaker and not SPEAKER_LABEL.match(speaker) and speaker != owner:
        body = re.sub(r"\bme\b", speaker, body)
    if owner:
        body = re.sub(rf"^{re.escape(owner)}\s*,?\s*", "", body, flags=re.IGNORECASE)
    body = re.sub(r"\bi\b", "I", body)
    return body[:1].upper() + body[1:] if body else ""


@dataclass(frozen=True, slots=True)
class _Found:
    """What a sentence asks or promises: its task (``body``, from ``start`` in the sentence)."""

    body: str
    start: int
    owner: str | None
    waiting: bool
    kind: str


def _found(match: re.Match[str], owner: str | None, waiting: bool, kind: str) -> _Found:
    return _Found(match.group("body"), match.start("body"), owner, waiting, kind)


def _each(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """Every match of a pattern whose body runs to the end, the later ones inside the earlier."""
    matches = []
    found = pattern.search(text)
    while found is not None:
        matches.append(found)
        found = pattern.search(text, found.start("body"))
    return matches


def _clause_found(sentence: Sentence, match: re.Match[str], owner: str | None, kind: str) -> _Found:
    """A commitment's task up to the end of its clause or the next commitment."""
    lowered = sentence.lower
    start = match.start("body")
    end = len(lowered)
    for pattern in (_CLAUSE_END, _NEXT_COMMITMENT):
        found = pattern.search(lowered, start)
        if found is not None:
            end = min(end, found.start())
    return _Found(lowered[start:end], start, owner, False, kind)


def _in_question(lowered: str, position: int) -> bool:
    """Whether the clause holding ``position`` is a question: a commitment said and then asked
    about ("I'll send it Friday, does that work?") is still one."""
    end = _CLAUSE_END.search(lowered, position)
    if end is None:
        return lowered.rstrip().endswith("?")
    return end.group().startswith("?")


def _verb_at(sentence: Sentence, offset: int, tags: Collection[str]) -> bool:
    start = sentence.span.start_char + offset
    return any(t.idx == start and t.tag_ in tags for t in sentence.span)


def _lost_will(sentence: Sentence, reference: date) -> _Found | None:
    """ "I run the numbers by Friday" (heard for "I'll run ..."): the speaker's commitment."""
    lowered = sentence.lower
    for match in _each(_LOST_WILL, lowered):
        body = match.group("body")
        if (
            _NOT_TASK.match(body)
            or _NOT_LOST_WILL.match(body)
            or _in_question(lowered, match.start())
            or not _verb_at(sentence, match.start("body"), {"VB", "VBP"})
        ):
            continue
        if any(d.start >= match.start("body") for d in find_due_dates(lowered, reference)):
            return _clause_found(sentence, match, sentence.speaker, "commit")
    return None


def _find(
    sentence: Sentence,
    names: set[str],
    labels: Sequence[str],
    last_person: str | None,
    reference: date,
) -> _Found | None:
    """The action this sentence states, if any."""
    lowered = sentence.lower
    vocative = addressed_person(sentence, names)
    for pattern, kind in ((_REQUEST, "request"), (_PLEASE, "please")):
        match = pattern.search(lowered)
        if match and not _IN_MEETING.match(match.group("body")):
            return _found(match, vocative, vocative is None, kind)
    if vocative and not _in_question(lowered, lowered.find(vocative.lower())):
        rest = lowered[lowered.find(vocative.lower()) + len(vocative) :].lstrip(" ,")
        tokens = [
            t for t in sentence.span if t.idx - sentence.span.start_char >= len(lowered) - len(rest)
        ]
        if (
            tokens
            and tokens[0].tag_ == "VB"
            and not _IN_MEETING.match(rest)
            and not rest.startswith(("let", "do ", "thank"))
        ):
            return _Found(rest, len(lowered) - len(rest), vocative, False, "imperative")
    commitments = [
        _clause_found(sentence, match, sentence.speaker, "commit")
        for match in _each(_COMMIT, lowered)
        if not _NOT_TASK.match(match.group("body")) and not _in_question(lowered, match.start())
    ]
    if commitments:
        # the first that names its task; "I can do that, I'll send the list" is the list
        spans = [(d.start, d.end) for d in find_due_dates(lowered, reference)]
        for found in commitments:
            if not _is_pronoun_only(sentence, found.start, found.start + len(found.body), spans):
                return found
        return commitments[0]
    lost = _lost_will(sentence, reference)
    if lost is not None:
        return lost
    for name in sorted(names, key=len, reverse=True):
        named = re.search(rf"\b{re.escape(name)}{_NAMED}", lowered)
        if named and not _NOT_TASK.match(named.group("body")):
            return _found(named, owner_from_labels(name, labels, names), False, "named")
    match = _PRONOUN_SUBJECT.search(lowered)
    if match and not _NOT_TASK.match(match.group("body")):
        # "he'll" for a person not recognised as one ("Coffee will be your contact. He'll ...")
        return _found(match, last_person, False, "named")
    match = _SOMEONE.search(lowered)
    if match:
        return _found(match, None, True, "someone")
    match = _GROUP.search(lowered)
    if match and not _in_question(lowered, match.start()):
        return _found(match, None, False, "group")
    return None


def extract_action_items(
    sentences: Sequence[Sentence], reference: date, labels: Sequence[str]
) -> list[ActionItem]:
    """The meeting's action items in the order they were said."""
    names = known_names(sentences, labels)
    name_labels = [label for label in labels if not SPEAKER_LABEL.match(label) and " " not in label]
    items: list[_Item] = []
    markers: list[Sentence] = []
    last_person: str | None = None
    for sentence in sentences:
        if _MARKER.search(sentence.lower) and not _MARKER_BODY.search(sentence.lower):
            markers.append(sentence)
            continue
        found = _find(sentence, names, labels, last_person, reference)
        persons = person_names(sentence) + [
            t.text for t in sentence.span if t.lower_ in names and t.is_alpha
        ]
        # a speaker's name as heard ("Coffee will be your contact. He'll ..." for Kofi)
        persons += [
            label
            for t in sentence.span
            if t.is_title and t.is_alpha and len(t.text) >= 3 and t.lower_ not in names
            for label in name_labels
            if sounds_like(t.text, label)
        ]
        marker_body = _MARKER_BODY.search(sentence.lower)
        if marker_body and found is None:
            found = _found(marker_body, None, False, "marker")
        if persons:
            last_person = persons[-1]
        if found is None:
            continue
        body, body_start, owner, waiting, kind = (
            found.body,
            found.start,
            found.owner,
            found.waiting,
            found.kind,
        )
        if len(sentence.text) == len(sentence.lower):
            body = sentence.text[body_start : body_start + len(body)]
        body = _base_form(sentence, body_start, body)
        dates = find_due_dates(sentence.text, reference)
        after = [d.when for d in dates if d.start >= body_start - 12]
        due = after[0] if after else (dates[0].when if dates else None)
        if kind == "group" and due is None:
            continue
        spans = [(d.start, d.end) for d in dates]
        pronoun_only = _is_pronoun_only(sentence, body_start, body_start + len(body), spans)
        if (
            kind == "commit"
            and pronoun_only
            and due is not None
            and _pending(items, sentence, labels) is None
        ):
            # "I'm going to move the queries. I can get it done within two weeks."
            if _merge_follow_up(items, sentence, due):
                continue
        if kind == "commit" and (pronoun_only or _accepts(items, sentence, labels)):
            _accept(items, sentence, due, labels)
            continue
        if kind == "commit" and _merge_elaboration(items, sentence, body, due):
            continue
        if kind == "commit" and _FOLLOW_UP.match(body):
            if _merge_follow_up(items, sentence, due):
                continue
        if pronoun_only:
            continue
        if kind == "commit" and len(body.split()) < _MIN_COMMITMENT_WORDS:
            continue
        if owner is not None and owner != sentence.speaker:
            owner = owner_from_labels(owner, labels, names)
        items.append(_Item(sentence, body, owner, due, waiting, kind))
    for marker in markers:
        _apply_marker(items, marker, sentences, reference, labels, names)
    return _finish(items, sentences, reference)


def _pending(items: list[_Item], sentence: Sentence, labels: Sequence[str]) -> _Item | None:
    """The latest request of the previous turn, by someone else, this speaker may be accepting:
    one for anyone, or for this speaker, or for a name no speaker label carries (speakers
    known only as "Speaker 2")."""
    label_names = {label.lower() for label in labels}
    for item in reversed(items[-3:]):
        asked = item.sentence
        if asked.speaker == sentence.speaker or sentence.turn - asked.turn > 1:
            continue
        owner = (item.owner or "").lower()
        if item.kind in {"request", "please", "imperative", "someone"} and (
            item.waiting
            or owner == (sentence.speaker or "").lower()
            or (owner not in label_names and SPEAKER_LABEL.match(sentence.speaker or ""))
        ):
            return item
    return None


def _accepts(items: list[_Item], sentence: Sentence, labels: Sequence[str]) -> bool:
    """Whether this commitment only takes on the request just made ("Yes, I'll send the list")."""
    item = _pending(items, sentence, labels)
    if item is None:
        return False
    return sentence.turn == item.sentence.turn + 1 and not item.accepted


def _merge_elaboration(items: list[_Item], sentence: Sentence, body: str, due: date | None) -> bool:
    """Whether this commitment only says how the speaker will do what they took on in this
    turn ("I'll take care of that. I'll check with their counsel by Thursday", "Sure, I can do
    that. I'll ask the team leads"): then it adds its date to that item. One said as another
    task ("I'll also ...", "... as well") is not."""
    if _ANOTHER.search(sentence.lower):
        return False
    for index in range(len(items) - 1, max(-1, len(items) - 3), -1):
        item = items[index]
        if not item.accepted or item.owner != sentence.speaker:
            continue
        if sentence.turn == item.sentence.turn + 1:
            items[index] = replace(item, due=item.due or due)
            return True
    return False


def _accept(
    items: list[_Item], sentence: Sentence, due: date | None, labels: Sequence[str]
) -> None:
    item = _pending(items, sentence, labels)
    if item is None:
        return
    index = items.index(item)
    owner = item.owner if not item.waiting else sentence.speaker
    items[index] = replace(item, owner=owner, due=item.due or due, waiting=False, accepted=True)


def _merge_follow_up(items: list[_Item], sentence: Sentence, due: date | None) -> bool:
    for index in range(len(items) - 1, max(-1, len(items) - 3), -1):
        item = items[index]
        if item.sentence.speaker == sentence.speaker and sentence.index - item.sentence.index <= 2:
            items[index] = replace(item, due=item.due or due)
            return True
    return False


def _apply_marker(
    items: list[_Item],
    marker: Sentence,
    sentences: Sequence[Sentence],
    reference: date,
    labels: Sequence[str],
    names: Collection[str],
) -> None:
    owner_match = _MARKER_OWNER.search(marker.lower)
    owner = owner_from_labels(owner_match.group(1), labels, names) if owner_match else None
    due = find_due_dates(marker.text, reference)
    when = due[0].when if due else None
    following = [i for i, item in enumerate(items) if item.sentence.index == marker.index + 1]
    if following and items[following[0]].sentence.turn == marker.turn:
        return
    before = [i for i, item in enumerate(items) if 0 < marker.index - item.sentence.index <= 2]
    if before:
        index = before[-1]
        item = items[index]
        items[index] = replace(item, owner=owner or item.owner, due=when or item.due, waiting=False)
        return
    for previous in reversed(sentences[max(0, marker.index - 3) : marker.index]):
        words = content_lemmas(previous.span)
        if len(words) >= 2:
            body = re.sub(
                r"^(?:should|shall|can|could) (?:we|i|you) (?:also |maybe )?", "", previous.lower
            )
            items.append(_Item(marker, body, owner, when, False, "marker"))
            return


def _finish(items: list[_Item], sentences: Sequence[Sentence], reference: date) -> list[ActionItem]:
    by_turn: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        by_turn.setdefault(sentence.turn, []).append(sentence)
    result: list[ActionItem] = []
    seen: list[tuple[set[str], str | None, int]] = []
    for item in sorted(items, key=lambda i: i.sentence.index):
        owner = item.owner
        if item.waiting:
            owner = _answerer(item.sentence, by_turn)
        text = _tidy_body(item.body, reference, speaker=item.sentence.speaker, owner=owner)
        words = set(re.findall(r"[a-z]{3,}", text.lower())) - {"the", "and", "for", "with"}
        if len(text) < 4 or not words:
            continue
        duplicate = next(
            (
                k
                for k, (other, other_owner, _) in enumerate(seen)
                if (owner is None or other_owner is None or owner == other_owner)
                and len(words & other) / max(1, len(words | other)) >= 0.5
            ),
            None,
        )
        if duplicate is not None:
            previous = result[duplicate]
            result[duplicate] = replace(
                previous,
                owner=previous.owner or owner,
                due_date=previous.due_date or item.due,
            )
            continue
        seen.append((words, owner, item.sentence.segment_id))
        result.append(ActionItem(text, item.sentence.segment_id, owner, item.due))
    return result


def _answerer(sentence: Sentence, by_turn: dict[int, list[Sentence]]) -> str | None:
    """The speaker of the next turn when it begins by saying yes."""
    answer = by_turn.get(sentence.turn + 1)
    if not answer or answer[0].speaker == sentence.speaker or answer[0].speaker is None:
        return None
    if _AFFIRM.match(answer[0].lower.lstrip(" ,.")):
        return answer[0].speaker
    return None
