"""A workspace's figures over a period, for the analytics page: totals, weekly series, talk
time per speaker, busiest weekdays and hours; what the insights say week by week (topics,
sentiment) and the tasks opened and done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, func, select, text
from sqlalchemy import Date as SqlDate
from sqlalchemy import Integer as SqlInteger
from sqlalchemy.orm import Session

from mina.models import (
    Meeting,
    MeetingInsights,
    MeetingSpeaker,
    MeetingStatus,
    MeetingTopic,
    RecordingSession,
    SessionStatus,
    Task,
    TaskStatus,
)
from mina.store._common import _audio_ms
from mina.store.segments import SpeakerTalk, _speaker_talk


@dataclass(frozen=True)
class WeekTotals:
    week_start: date  # a Monday (UTC)
    meetings: int
    audio_ms: int


@dataclass(frozen=True)
class TopicWeight:
    label: str
    weight: float


@dataclass(frozen=True)
class InsightWeek:
    """What the insights of one week's meetings say: the topics with the most weight summed
    over its meetings (the top ``TOPICS_PER_WEEK``), and their average overall sentiment."""

    week_start: date
    meetings: int  # meetings of the week with insights
    sentiment: float | None  # the average of those that have one, -1..1
    topics: list[TopicWeight]


@dataclass(frozen=True)
class TaskWeek:
    """Tasks made (``opened``) and completed (``done``) in one week; deleted ones not counted."""

    week_start: date
    opened: int
    done: int


TOPICS_PER_WEEK = 5


@dataclass(frozen=True)
class Analytics:
    """A workspace's meetings that started in [since, until): what the analytics page shows.

    Times are UTC; ``weekdays`` counts meetings Monday first, ``hours`` by hour of day."""

    since: datetime
    until: datetime
    meetings: int
    audio_ms: int
    average_duration_ms: int | None
    average_confidence: float | None
    words: int
    words_per_minute: float | None
    weeks: list[WeekTotals]
    speakers: list[SpeakerTalk]
    weekdays: list[int]
    hours: list[int]
    insight_weeks: list[InsightWeek]
    task_weeks: list[TaskWeek]


def _week_start(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        # the next Sunday (or the day itself), six days back: the week's Monday
        return func.date(value, "weekday 0", "-6 days")
    return cast(func.date_trunc("week", func.timezone("UTC", value)), SqlDate)


def _weekday(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """0 = Sunday ... 6 = Saturday, on both databases."""
    if dialect == "sqlite":
        return cast(func.strftime("%w", value), SqlInteger)
    return cast(func.extract("dow", func.timezone("UTC", value)), SqlInteger)


def _hour(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return cast(func.strftime("%H", value), SqlInteger)
    return cast(func.extract("hour", func.timezone("UTC", value)), SqlInteger)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def workspace_analytics(
    session: Session, *, workspace_id: int, since: datetime, until: datetime
) -> Analytics:
    """Totals, weekly series, talk time per speaker and busiest weekdays and hours: three
    aggregate queries over the period's meetings (recording totals for durations and words, the
    meeting_speakers summary for talk time: no segment is read); see docs/queries.md."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Statements psycopg has prepared get a generic plan after a few runs, which expects a
        # handful of meetings and sorts a year's 34,000 speaker rows (20 ms) instead of hashing
        # them (9 ms). A custom plan per run costs well under a millisecond of planning.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    started = func.coalesce(Meeting.actual_start, Meeting.created_at)
    in_period = and_(
        Meeting.workspace_id == workspace_id,
        Meeting.status != MeetingStatus.SCHEDULED,
        started >= since,
        started < until,
    )
    finished = RecordingSession.status != SessionStatus.ACTIVE
    audio = func.coalesce(_audio_ms(), 0)
    with_sessions = (
        select()
        .select_from(Meeting)
        .outerjoin(RecordingSession, RecordingSession.meeting_id == Meeting.id)
    )
    # one pass over the period's meetings for the totals and the weekly series: a meeting is
    # in one week only, so the weeks' distinct counts and sums add up to the period's
    week = _week_start(dialect, started).label("week")
    week_rows = session.execute(
        with_sessions.add_columns(
            week,
            func.count(func.distinct(Meeting.id)),
            func.sum(audio),
            func.count(func.distinct(case((RecordingSession.audio_bytes > 0, Meeting.id)))),
            func.sum(case((finished, RecordingSession.total_words), else_=0)),
            func.sum(case((finished, audio), else_=0)),
            func.sum(RecordingSession.average_confidence),
            func.count(RecordingSession.average_confidence),
        )
        .where(in_period)
        .group_by(week)
    ).all()
    meetings = sum(int(row[1]) for row in week_rows)
    audio_ms = sum(float(row[2] or 0) for row in week_rows)
    with_audio = sum(int(row[3]) for row in week_rows)
    words = sum(int(row[4] or 0) for row in week_rows)
    finished_ms = sum(float(row[5] or 0) for row in week_rows)
    rated = sum(int(row[7]) for row in week_rows)
    confidence = sum(float(row[6] or 0) for row in week_rows) / rated if rated else None
    average_ms = int(audio_ms) // with_audio if with_audio else None
    by_week = {_as_date(row[0]): (int(row[1]), int(row[2] or 0)) for row in week_rows}
    mondays = _mondays(since, until)
    weeks = [WeekTotals(monday, *by_week.get(monday, (0, 0))) for monday in mondays]

    weekday = _weekday(dialect, started).label("weekday")
    hour = _hour(dialect, started).label("hour")
    weekdays, hours = [0] * 7, [0] * 24
    for day, at, count in session.execute(
        select(weekday, hour, func.count(Meeting.id)).where(in_period).group_by(weekday, hour)
    ):
        weekdays[(int(day) + 6) % 7] += int(count)  # Sunday 0 -> index 6
        hours[int(at)] += int(count)

    # talk time from the per-meeting summary the segment triggers keep (a few rows a meeting)
    talk = func.sum(MeetingSpeaker.talk_ms)
    speakers = _speaker_talk(
        session.execute(
            select(MeetingSpeaker.speaker_key, talk, func.sum(MeetingSpeaker.segments))
            .join(Meeting, Meeting.id == MeetingSpeaker.meeting_id)
            .where(in_period)
            .group_by(MeetingSpeaker.speaker_key)
            .order_by(talk.desc(), MeetingSpeaker.speaker_key)
            .limit(20)
        )
    )
    minutes = int(finished_ms) / 60_000
    return Analytics(
        since=since,
        until=until,
        meetings=meetings,
        audio_ms=int(audio_ms),
        average_duration_ms=average_ms,
        average_confidence=confidence,
        words=words,
        words_per_minute=round(words / minutes, 1) if minutes > 0 else None,
        weeks=weeks,
        speakers=speakers,
        weekdays=weekdays,
        hours=hours,
        insight_weeks=_insight_weeks(session, dialect, in_period, started, mondays),
        task_weeks=_task_weeks(
            session, dialect, workspace_id=workspace_id, since=since, until=until, mondays=mondays
        ),
    )


def _mondays(since: datetime, until: datetime) -> list[date]:
    """The Monday of every week the period [since, until) touches, in order."""
    monday = monday_of(since.date())
    last = monday_of((until - timedelta(microseconds=1)).date())
    mondays = []
    while monday <= last:
        mondays.append(monday)
        monday += timedelta(days=7)
    return mondays


def _insight_weeks(
    session: Session,
    dialect: str,
    in_period: ColumnElement[bool],
    started: ColumnElement[Any],
    mondays: list[date],
) -> list[InsightWeek]:
    """Topics and sentiment per week from the insights of the period's meetings: the average of
    their sentiment column, and the topics from ``meeting_topics`` summed per week and ranked by
    the database (never the insights JSON, a few KB a meeting)."""
    week = _week_start(dialect, started).label("week")
    average = func.avg(MeetingInsights.sentiment)
    sentiment: dict[date, tuple[int, float | None]] = {
        _as_date(when): (int(count), None if mean is None else float(mean))
        for when, count, mean in session.execute(
            select(week, func.count(MeetingInsights.meeting_id), average)
            .join(Meeting, Meeting.id == MeetingInsights.meeting_id)
            .where(in_period)
            .group_by(week)
        )
    }
    # a label written in different cases is one topic, shown in lower case where it was so
    summed = (
        select(
            week,
            func.max(MeetingTopic.label).label("label"),
            func.sum(MeetingTopic.weight).label("weight"),
            MeetingTopic.key,
        )
        .join(Meeting, Meeting.id == MeetingTopic.meeting_id)
        .where(in_period)
        .group_by(week, MeetingTopic.key)
        .subquery()
    )
    rank = (
        func.row_number()
        .over(partition_by=summed.c.week, order_by=(summed.c.weight.desc(), summed.c.key))
        .label("rank")
    )
    ranked = select(summed.c.week, summed.c.label, summed.c.weight, rank).subquery()
    topics: dict[date, list[TopicWeight]] = {}
    for when, label, weight in session.execute(
        select(ranked.c.week, ranked.c.label, ranked.c.weight)
        .where(ranked.c.rank <= TOPICS_PER_WEEK)
        .order_by(ranked.c.week, ranked.c.rank)
    ):
        topics.setdefault(_as_date(when), []).append(TopicWeight(label, float(weight)))
    return [
        InsightWeek(monday, *sentiment.get(monday, (0, None)), topics.get(monday, []))
        for monday in mondays
    ]


def _task_weeks(
    session: Session,
    dialect: str,
    *,
    workspace_id: int,
    since: datetime,
    until: datetime,
    mondays: list[date],
) -> list[TaskWeek]:
    """Tasks opened (by ``created_at``) and done (by ``done_at``) per week of the period, of
    the workspace's tasks that are not deleted."""
    visible = and_(Task.workspace_id == workspace_id, Task.deleted_at.is_(None))
    opened_week = _week_start(dialect, Task.created_at.expression).label("week")
    opened = {
        _as_date(when): int(count)
        for when, count in session.execute(
            select(opened_week, func.count(Task.id))
            .where(visible, Task.created_at >= since, Task.created_at < until)
            .group_by(opened_week)
        )
    }
    done_week = _week_start(dialect, Task.done_at.expression).label("week")
    done = {
        _as_date(when): int(count)
        for when, count in session.execute(
            select(done_week, func.count(Task.id))
            .where(
                visible,
                Task.status == TaskStatus.DONE,
                Task.done_at >= since,
                Task.done_at < until,
            )
            .group_by(done_week)
        )
    }
    return [TaskWeek(monday, opened.get(monday, 0), done.get(monday, 0)) for monday in mondays]
