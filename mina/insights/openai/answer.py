"""Reading a language model's answer: find the JSON object in whatever came back, validate each
item on its own, and keep only what cites a segment of the meeting.

Models wrap JSON in code fences, add a sentence after it, or stop mid-string when they reach
``max_tokens``; each of these still yields the items that are whole. An item that is malformed
or cites a segment the meeting does not have is dropped and counted, never guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from mina.insights.base import ActionItem, InsightError, Point, Topic


class AnswerError(InsightError):
    """The answer holds nothing usable. ``reason`` is a few words ("no JSON in the answer")."""

    def __init__(self, message: str, *, reason: str = "no JSON in the answer") -> None:
        super().__init__(message)
        self.reason = reason


_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NO_OWNER = {"", "null", "none", "n/a", "unknown", "nobody"}
MAX_TEXT_CHARS = 400
"""A longer item is cut here (a model that loops fills a string until ``max_tokens``)."""


@dataclass(frozen=True, slots=True)
class ParsedJson:
    """The outermost JSON object of an answer; ``repaired`` when it had to be closed because
    the answer stopped before its end."""

    value: dict[str, Any]
    repaired: bool = False


def parse_json_object(text: str) -> ParsedJson:
    """The outermost JSON object in ``text``: code fences stripped, text around it ignored, an
    object cut off mid-way closed after its last whole member. ``AnswerError`` if none."""
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        parsed = _outermost_object(candidate)
        if parsed is not None:
            return parsed
    snippet = " ".join(text.split())[:80]
    raise AnswerError(f"no JSON object in the answer ({snippet!r})" if snippet else "empty answer")


def _outermost_object(text: str) -> ParsedJson | None:
    start = text.find("{")
    while start != -1:
        parsed = _object_at(text, start)
        if parsed is not None:
            return parsed
        start = text.find("{", start + 1)
    return None


def _object_at(text: str, start: int) -> ParsedJson | None:
    """The object opening at ``start``, whole or, if the text ends inside it, repaired."""
    stack: list[str] = []
    in_string = escaped = False
    cuts: list[tuple[int, str]] = []  # (end of a prefix that is whole, the closers it needs)
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
            if char == "[" or index == start:  # an empty array is whole, an empty item is not
                cuts.append((index + 1, "".join(reversed(stack))))
        elif char in "}]":
            if not stack or stack[-1] != char:
                return None
            stack.pop()
            if not stack:
                return _loads(text[start : index + 1], repaired=False)
        elif char == ",":
            cuts.append((index, "".join(reversed(stack))))
    # The text ended inside the object: close it after the last member that is whole, trying
    # first to keep a string that was cut mid-way ("... the text was cu").
    tail = text[start:].rstrip()
    attempts = []
    if in_string and not escaped:
        attempts.append(tail + '"' + "".join(reversed(stack)))
    attempts.append(tail + "".join(reversed(stack)))
    attempts.extend(text[start:end] + closers for end, closers in reversed(cuts))
    for attempt in attempts:
        parsed = _loads(attempt, repaired=True)
        if parsed is not None:
            return parsed
    return None


def _loads(text: str, *, repaired: bool) -> ParsedJson | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return ParsedJson(value, repaired) if isinstance(value, dict) else None


class _Cited(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    segment_id: int
    text: str

    @field_validator("segment_id", mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        """``"[12]"`` or ``"#12"`` as the model copied it from the transcript is 12."""
        if isinstance(value, str):
            return value.strip().strip("[]#").strip()
        return value

    @field_validator("text")
    @classmethod
    def _some_text(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("empty text")
        if len(value) > MAX_TEXT_CHARS:
            value = value[: MAX_TEXT_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"
        return value


class _RawAction(_Cited):
    owner: str | None = None
    due_date: str | None = None


_Item = TypeVar("_Item", bound=BaseModel)


class _RawTopic(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str
    weight: float | None = None


@dataclass
class ChunkAnswer:
    """The valid items of one answer, and how many were dropped: ``uncited`` cite no segment
    of the meeting, ``malformed`` did not have the wanted shape."""

    summary: list[Point] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    decisions: list[Point] = field(default_factory=list)
    questions: list[Point] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    uncited: int = 0
    malformed: int = 0
    repaired: bool = False

    @property
    def is_empty(self) -> bool:
        return not (
            self.summary or self.action_items or self.decisions or self.questions or self.topics
        )


def read_answer(value: dict[str, Any], segment_ids: Collection[int]) -> ChunkAnswer:
    """Validate an answer's items against the meeting's segment ids."""
    answer = ChunkAnswer()
    answer.summary = _read_points(value.get("summary"), segment_ids, answer)
    answer.decisions = _read_points(value.get("decisions"), segment_ids, answer)
    answer.questions = _read_points(value.get("questions"), segment_ids, answer)
    for raw in _items(value.get("action_items"), _RawAction, answer):
        if raw.segment_id not in segment_ids:
            answer.uncited += 1
            continue
        answer.action_items.append(
            ActionItem(
                text=raw.text,
                segment_id=raw.segment_id,
                owner=clean_owner(raw.owner),
                due_date=parse_due_date(raw.due_date),
            )
        )
    answer.topics = clean_topics(_topic_items(value.get("topics"), answer))
    return answer


def _read_points(raw: Any, segment_ids: Collection[int], answer: ChunkAnswer) -> list[Point]:
    points = []
    for item in _items(raw, _Cited, answer):
        if item.segment_id in segment_ids:
            points.append(Point(item.text, item.segment_id))
        else:
            answer.uncited += 1
    return points


def _items(raw: Any, model: type[_Item], answer: ChunkAnswer) -> list[_Item]:
    if not isinstance(raw, list):
        if raw is not None:
            answer.malformed += 1
        return []
    items = []
    for entry in raw:
        try:
            items.append(model.model_validate(entry))
        except ValidationError:
            answer.malformed += 1
    return items


def _topic_items(raw: Any, answer: ChunkAnswer) -> list[tuple[str, float | None]]:
    topics: list[tuple[str, float | None]] = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, str):
            topics.append((entry, None))
            continue
        try:
            topic = _RawTopic.model_validate(entry)
        except ValidationError:
            answer.malformed += 1
            continue
        topics.append((topic.label, topic.weight))
    return topics


def clean_owner(owner: str | None) -> str | None:
    """The owner as the model gave it, spaces tidied; empty or a "none" word is no owner."""
    if owner is None:
        return None
    owner = " ".join(owner.split())
    return None if owner.lower() in _NO_OWNER else owner


def parse_due_date(value: str | None) -> date | None:
    """An ISO date (``2026-12-07``, also with a time after it), else None."""
    if not value:
        return None
    match = _ISO_DATE.match(value.strip())
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(0))
    except ValueError:
        return None


def clean_topics(raw: Iterable[tuple[str, float | None]]) -> list[Topic]:
    """Topics in the given order, empty and repeated labels dropped; a weight outside (0, 1] is
    clamped into it, a missing one follows the rank (the first 1, the last 1/n)."""
    labels: list[tuple[str, float | None]] = []
    seen: set[str] = set()
    for label, weight in raw:
        label = " ".join(label.split()).strip(" .,;:")
        key = label.casefold()
        if not label or key in seen:
            continue
        seen.add(key)
        labels.append((label, weight))
    count = len(labels)
    topics = []
    for rank, (label, weight) in enumerate(labels):
        if weight is None or weight != weight:  # missing or NaN
            weight = (count - rank) / count
        topics.append(Topic(label, round(min(1.0, max(0.01, weight)), 4)))
    return topics
