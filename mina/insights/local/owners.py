"""Whose an action item is: the names said in a meeting, the person addressed ("Tom, can you
..."), and a misheard name matched to the speaker label or name it sounds like ("Marko" for
Marco, "May" for Mei)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from mina.insights.local.text import Sentence

SPEAKER_LABEL = re.compile(r"^speaker\s*\d+$", re.IGNORECASE)
# words that ask something of the person named before them ("Tom, can you")
ASKING = frozenset({"can", "could", "would", "will", "please"})


def _name_key(name: str) -> str:
    """A crude sound of a name: its first letter and its consonants ("Marko" and "Marco",
    "May" and "Mei" sound alike), as speech recognition misspells names."""
    name = name.lower().replace("ph", "f").replace("ck", "k")
    name = name.translate(str.maketrans("cqzx", "kkss"))
    rest = re.sub(r"[^a-z]|[aeiouyhw]", "", name[1:])
    return name[:1] + re.sub(r"(.)\1+", r"\1", rest)


def sounds_like(heard: str, name: str) -> bool:
    a, b = _name_key(heard), _name_key(name)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 2 and len(long) - len(short) == 1 and long.startswith(short)


def owner_from_labels(name: str, labels: Sequence[str], names: Collection[str] = ()) -> str:
    """``name`` as the speaker label it means: the same name, else the one name label that
    sounds like it (a misheard name), else, for a word not otherwise taken for a name, the one
    name said in the meeting that sounds like it, else the name itself, capitalised."""
    for label in labels:
        if label.lower() == name.lower():
            return label
    alike = {
        label
        for label in labels
        if not SPEAKER_LABEL.match(label) and " " not in label and sounds_like(name, label)
    }
    if len(alike) == 1:
        return alike.pop()
    if not alike and name.lower() not in names:
        said = {known for known in names if sounds_like(name, known)}
        if len(said) == 1:
            name = said.pop()
    return name[0].upper() + name[1:]


def addressed_person(sentence: Sentence, names: set[str]) -> str | None:
    """The person addressed at the start of the sentence ("Tom, please ...", "and Tom, can")."""
    tokens = [t for t in sentence.span if not t.is_space]
    index = 0
    while index < len(tokens) and (
        tokens[index].lower_
        in {"and", "also", "okay", "ok", "so", "great", "thanks", "right", "now"}
        or tokens[index].is_punct
    ):
        index += 1
    addressed = None  # the last one before the request: "Thanks, Jamal. Mei, can you ..."
    for position in range(index, len(tokens) - 2):
        token, comma, then = tokens[position], tokens[position + 1], tokens[position + 2]
        if comma.text != ",":
            continue
        asks = position == index or then.lower_ in ASKING or then.tag_ == "VB"
        named = token.lower_ in names or (
            token.pos_ == "PROPN" and token.is_title and token.is_alpha
        )
        if asks and named:
            addressed = str(token.text)
    return addressed


def person_names(sentence: Sentence) -> list[str]:
    return [ent.text for ent in sentence.span.ents if ent.label_ == "PERSON"]


def known_names(sentences: Sequence[Sentence], labels: Sequence[str]) -> set[str]:
    """People's names in the meeting, lowercase: speaker labels that are names, spaCy's
    PERSON entities and whoever is addressed ("Marcus, can you ...")."""
    names = {
        word.lower() for label in labels if not SPEAKER_LABEL.match(label) for word in label.split()
    }
    for sentence in sentences:
        names.update(word.lower() for p in person_names(sentence) for word in p.split())
    for sentence in sentences:
        vocative = addressed_person(sentence, names)
        if vocative:
            names.add(vocative.lower())
    return names
