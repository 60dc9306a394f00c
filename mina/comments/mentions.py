"""Which members of a workspace a piece of text names: the ``@Name`` tokens of a comment, and a
task's free-text assignee. A member is named by their display name or their email's local part
(``ada`` of ``ada@example.com``), case-insensitively, with runs of spaces as one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol


class Person(Protocol):
    """What matching needs of a member (``store.Member`` is one)."""

    @property
    def user_id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str: ...


_WORD = re.compile(r"\w")


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def names_of(person: Person) -> set[str]:
    """The names a member answers to, folded: their display name and their email's local part."""
    names = {_fold(person.name), _fold(person.email.partition("@")[0])}
    names.discard("")
    return names


def member_named(members: Sequence[Person], text: str | None) -> int | None:
    """The one member ``text`` names as a whole (a name, an email's local part, or the whole
    email), e.g. a task's assignee; None when it names nobody, or several people."""
    wanted = _fold(text or "")
    if not wanted:
        return None
    found = {m.user_id for m in members if wanted in names_of(m) or wanted == _fold(m.email)}
    return found.pop() if len(found) == 1 else None


def find_mentions(body: str, members: Sequence[Person]) -> list[int]:
    """The ids of the members ``body`` mentions, in the order first mentioned. A mention is
    ``@`` (at the start or after a character that is not part of a word, so an email address
    is not one) followed by a member's name and then anything but a letter or digit. The
    longest name wins: "@Ada Lovelace" mentions Ada Lovelace, not a member called Ada. A name
    that several members share mentions each of them."""
    candidates: dict[str, list[int]] = {}
    for member in members:
        for name in names_of(member):
            candidates.setdefault(name, []).append(member.user_id)
    by_length = sorted(candidates, key=len, reverse=True)
    folded = body.casefold()
    found: list[int] = []
    for match in re.finditer("@", folded):
        at = match.start()
        if at > 0 and (_WORD.match(folded[at - 1]) or folded[at - 1] == "@"):
            continue
        rest = _spaced(folded[at + 1 : at + 1 + 400])
        for name in by_length:
            if rest.startswith(name) and not _WORD.match(rest[len(name) : len(name) + 1]):
                found.extend(uid for uid in candidates[name] if uid not in found)
                break
    return found


def _spaced(text: str) -> str:
    """Runs of spaces as one (names are matched that way), keeping the text's other characters."""
    return re.sub(r"\s+", " ", text)
