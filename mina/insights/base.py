"""What every insight provider is: a name and one ``generate`` call from a meeting's transcript
to its insights.

A provider reads ``MeetingText`` (the segments people see, with their ids, times and speakers)
and returns ``Insights`` whose every item cites the segment it comes from by ``segment_id``.
The job (``mina.insights.job``) validates each citation against the meeting, drops items that
cite nothing real, adds ``start_ms`` and stores the result: providers never touch the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable


class InsightError(Exception):
    """A provider could not make insights (an endpoint down, an answer that does not parse)."""


class UnknownProviderError(InsightError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown insight provider {name!r}; known: {', '.join(known)}")
        self.name = name


@dataclass(frozen=True, slots=True)
class SourceSegment:
    """One segment of the transcript as people see it (the edit when there is one)."""

    id: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True)
class MeetingText:
    """What a provider reads. ``reference`` is when the meeting started, in the server's local
    time zone: relative dates ("tomorrow", "next Monday at ten") resolve against it."""

    meeting_id: int
    title: str
    reference: datetime
    segments: tuple[SourceSegment, ...]
    language: str = "en"

    @property
    def meeting_date(self) -> date:
        return self.reference.date()


@dataclass(frozen=True, slots=True)
class Point:
    """A summary point, a decision or an open question, and the segment it comes from."""

    text: str
    segment_id: int


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A commitment or a request. ``owner``: the person named, else the speaker who took it on
    (None when neither is known); ``due_date`` resolved against the meeting's date."""

    text: str
    segment_id: int
    owner: str | None = None
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """A keyword or key phrase of the meeting; ``weight`` in (0, 1], the most central first."""

    label: str
    weight: float


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Compound sentiment in [-1, 1]: the whole meeting, each speaker, each segment (by id)."""

    overall: float | None = None
    by_speaker: dict[str, float] = field(default_factory=dict)
    by_segment: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Insights:
    """A provider's answer. ``provider`` names who made it; a provider that fell back to another
    says so there (``"local (openai failed: timed out)"``) and in ``note``."""

    provider: str
    model: str
    summary: tuple[Point, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    decisions: tuple[Point, ...] = ()
    questions: tuple[Point, ...] = ()
    topics: tuple[Topic, ...] = ()
    sentiment: Sentiment = field(default_factory=Sentiment)
    note: str = ""


@runtime_checkable
class InsightProvider(Protocol):
    """Makes insights from a transcript. Must be thread-safe: one instance serves every job of
    the process. ``generate`` is blocking and runs in a job worker thread, never on the event
    loop."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def generate(self, meeting: MeetingText) -> Insights: ...
