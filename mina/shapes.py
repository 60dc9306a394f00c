"""The public JSON shapes of meetings and segments (DESIGN.md section 7), in one place: the API
answers them, live events carry them, the JSON export writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mina import store
from mina.live.streaming import Interim
from mina.models import Meeting, MeetingStatus, Segment


class AnalysisOut(BaseModel):
    """What Mina has worked out after the meeting, each ``pending|running|done|failed|off``."""

    speakers: str = Field(description="Labelling who spoke when (the diarize job)")
    insights: str = Field(
        description="The summary, action items, decisions and topics (the insights job)"
    )
    embeddings: str = Field(
        default="off", description="Passages embedded for search by meaning (the embed job)"
    )


class MeetingOut(BaseModel):
    id: int
    title: str
    description: str
    status: MeetingStatus
    language: str
    created_at: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    duration_ms: int | None
    segment_count: int
    word_count: int
    average_confidence: float | None
    expected_speakers: int | None = Field(
        description="How many people took part, when someone said: a hint for labelling speakers"
    )
    analysis: AnalysisOut


class WordOut(BaseModel):
    text: str
    start_ms: int
    end_ms: int
    probability: float | None


class SegmentOut(BaseModel):
    id: int
    seq: int
    text: str = Field(description="What people see: the edited text when there is an edit")
    start_ms: int
    end_ms: int
    confidence: float | None
    speaker: str | None
    words: list[WordOut]
    edited: bool = False
    original_text: str = Field(description="What the speech engine heard, kept after edits")
    edited_at: datetime | None = None
    sentiment: float | None = Field(
        default=None, description="Compound sentiment, -1 (negative) to 1; null until insights"
    )


def meeting_out(meeting: Meeting, stats: store.MeetingStats) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        title=meeting.title,
        description=meeting.description,
        status=meeting.status,
        language=meeting.language,
        created_at=meeting.created_at,
        actual_start=meeting.actual_start,
        actual_end=meeting.actual_end,
        duration_ms=store.meeting_duration_ms(meeting, stats),
        segment_count=stats.segment_count,
        word_count=stats.word_count,
        average_confidence=stats.average_confidence,
        expected_speakers=meeting.expected_speakers,
        analysis=AnalysisOut(
            speakers=stats.speakers, insights=stats.insights, embeddings=stats.embeddings
        ),
    )


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        id=segment.id,
        seq=segment.seq,
        text=segment.display_text,
        start_ms=segment.start_ms,
        end_ms=segment.end_ms,
        confidence=segment.avg_confidence,
        speaker=segment.speaker,
        words=[WordOut(**w) for w in segment.words],
        edited=segment.edited_text is not None,
        original_text=segment.text,
        edited_at=segment.edited_at,
        sentiment=segment.sentiment,
    )


def segment_json(segment: Segment) -> dict[str, Any]:
    """A segment as JSON (a live ``final`` event, the transcript a viewer gets first)."""
    return segment_out(segment).model_dump(mode="json")


def interim_json(interim: Interim | None) -> dict[str, Any]:
    """The ``interim`` event of a live recording (DESIGN.md section 3): empty when nothing is
    pending."""
    return {
        "type": "interim",
        "text": interim.text if interim else "",
        "confirmed": interim.confirmed if interim else "",
        "start_ms": round(interim.start * 1000) if interim else None,
        "end_ms": round(interim.end * 1000) if interim else None,
    }
