"""``GET /api/analytics?days=N``: how a workspace meets, over the last N days (UTC)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mina import store
from mina.models import utcnow
from mina.web.deps import ApiPrincipal, Db
from mina.web.errors import error_responses

router = APIRouter(prefix="/api", tags=["analytics"])

DEFAULT_DAYS = 30
MAX_DAYS = 3650
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

ERRORS = error_responses(401, (422, "days outside 1..3650"))


class WeekOut(BaseModel):
    week_start: date = Field(description="The Monday (UTC) the week starts on")
    meetings: int
    hours: float


class SpeakerOut(BaseModel):
    speaker: str | None = Field(description="null: segments without a speaker label")
    talk_ms: int
    segments: int
    share: float = Field(description="Fraction of all talk time in the period, 0..1")


class WeekdayOut(BaseModel):
    weekday: str
    meetings: int


class HourOut(BaseModel):
    hour: int = Field(ge=0, le=23, description="Hour of day (UTC) the meetings started")
    meetings: int


class TopicOut(BaseModel):
    label: str
    weight: float = Field(description="The topic's weights summed over the week's meetings")


class TopicWeekOut(BaseModel):
    week_start: date = Field(description="The Monday (UTC) the week starts on")
    topics: list[TopicOut] = Field(description="The week's top 5 topics, the heaviest first")


class SentimentWeekOut(BaseModel):
    week_start: date = Field(description="The Monday (UTC) the week starts on")
    meetings: int = Field(description="The week's meetings with insights")
    sentiment: float | None = Field(
        description="Their overall sentiment averaged, -1..1; null: none has one"
    )


class TaskWeekOut(BaseModel):
    week_start: date = Field(description="The Monday (UTC) the week starts on")
    opened: int = Field(description="Tasks made that week (deleted ones not counted)")
    done: int = Field(description="Tasks completed that week (still done, not deleted)")


class AnalyticsOut(BaseModel):
    days: int
    since: datetime
    until: datetime
    meetings: int
    hours: float = Field(description="Hours of audio recorded")
    average_duration_ms: int | None
    average_confidence: float | None
    words: int
    words_per_minute: float | None
    weeks: list[WeekOut]
    speakers: list[SpeakerOut]
    weekdays: list[WeekdayOut]
    hours_of_day: list[HourOut]
    topics_by_week: list[TopicWeekOut] = Field(
        description="From the insights of the meetings that started each week"
    )
    sentiment_by_week: list[SentimentWeekOut]
    tasks_by_week: list[TaskWeekOut] = Field(
        description="By when tasks were made and completed, whatever their meeting's date"
    )


def hours_of(ms: int) -> float:
    return round(ms / 3_600_000, 2)


def analytics_out(days: int, data: store.Analytics) -> AnalyticsOut:
    talk_total = sum(s.talk_ms for s in data.speakers) or 1
    return AnalyticsOut(
        days=days,
        since=data.since,
        until=data.until,
        meetings=data.meetings,
        hours=hours_of(data.audio_ms),
        average_duration_ms=data.average_duration_ms,
        average_confidence=(
            None if data.average_confidence is None else round(data.average_confidence, 4)
        ),
        words=data.words,
        words_per_minute=data.words_per_minute,
        weeks=[
            WeekOut(week_start=w.week_start, meetings=w.meetings, hours=hours_of(w.audio_ms))
            for w in data.weeks
        ],
        speakers=[
            SpeakerOut(
                speaker=s.speaker,
                talk_ms=s.talk_ms,
                segments=s.segments,
                share=round(s.talk_ms / talk_total, 4),
            )
            for s in data.speakers
        ],
        weekdays=[
            WeekdayOut(weekday=name, meetings=n)
            for name, n in zip(WEEKDAYS, data.weekdays, strict=True)
        ],
        hours_of_day=[HourOut(hour=h, meetings=n) for h, n in enumerate(data.hours)],
        topics_by_week=[
            TopicWeekOut(
                week_start=w.week_start,
                topics=[TopicOut(label=t.label, weight=round(t.weight, 3)) for t in w.topics],
            )
            for w in data.insight_weeks
        ],
        sentiment_by_week=[
            SentimentWeekOut(
                week_start=w.week_start,
                meetings=w.meetings,
                sentiment=None if w.sentiment is None else round(w.sentiment, 3),
            )
            for w in data.insight_weeks
        ],
        tasks_by_week=[
            TaskWeekOut(week_start=w.week_start, opened=w.opened, done=w.done)
            for w in data.task_weeks
        ],
    )


def load_analytics(db: Db, principal: store.Principal, days: int) -> AnalyticsOut:
    until = utcnow()
    data = store.workspace_analytics(
        db, workspace_id=principal.workspace.id, since=until - timedelta(days=days), until=until
    )
    return analytics_out(days, data)


@router.get("/analytics", response_model=AnalyticsOut, responses=ERRORS)
def get_analytics(
    db: Db,
    principal: ApiPrincipal,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
) -> AnalyticsOut:
    """Meetings and hours per week, averages, talk time per speaker, busiest weekdays and hours;
    top topics and average sentiment per week (from insights), tasks opened and done per week."""
    return load_analytics(db, principal, days)
