"""Meeting insights: what a provider made of a meeting, stored once per meeting, each
segment's sentiment, and the meeting's topics as narrow rows for analytics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from mina.models import MeetingInsights, MeetingTopic, Segment, Task, utcnow

TOPIC_LABEL_MAX = 200


def get_insights(session: Session, *, meeting_id: int) -> MeetingInsights | None:
    return session.get(MeetingInsights, meeting_id)


def save_insights(
    session: Session,
    *,
    meeting_id: int,
    provider: str,
    model: str,
    data: dict[str, Any],
    sentiment: float | None,
    segment_sentiment: dict[int, float],
) -> MeetingInsights:
    """Replace the meeting's insights (no longer stale) and write each segment's sentiment
    (segments not named are reset to none)."""
    row = session.get(MeetingInsights, meeting_id, with_for_update=True)
    if row is None:
        row = MeetingInsights(meeting_id=meeting_id)
        session.add(row)
    row.provider = provider[:200]
    row.model = model[:200]
    row.generated_at = utcnow()
    row.stale = False
    row.sentiment = sentiment
    row.data = data
    session.execute(update(Segment).where(Segment.meeting_id == meeting_id).values(sentiment=None))
    if segment_sentiment:
        session.execute(
            update(Segment),
            [{"id": sid, "sentiment": score} for sid, score in segment_sentiment.items()],
        )
    session.execute(delete(MeetingTopic).where(MeetingTopic.meeting_id == meeting_id))
    topics = topic_rows(meeting_id, data.get("topics"))
    if topics:
        session.execute(insert(MeetingTopic), topics)
    session.flush()
    return row


def topic_rows(meeting_id: int, topics: object) -> list[dict[str, Any]]:
    """The ``meeting_topics`` rows of an insights' ``topics`` list: one per label whatever its
    case (the first one), blank labels and odd entries skipped."""
    rows: dict[str, dict[str, Any]] = {}
    for topic in topics if isinstance(topics, list) else []:
        if not isinstance(topic, dict):
            continue
        label = " ".join(str(topic.get("label") or "").split())[:TOPIC_LABEL_MAX]
        try:
            weight = float(topic.get("weight") or 0.0)
        except (TypeError, ValueError):
            continue
        if label and label.lower() not in rows:
            key = label.lower()
            rows[key] = {"meeting_id": meeting_id, "key": key, "label": label, "weight": weight}
    return list(rows.values())


def mark_insights_stale(session: Session, *, meeting_id: int) -> None:
    """The transcript changed after the insights were made (nothing to mark without any)."""
    session.execute(
        update(MeetingInsights)
        .where(MeetingInsights.meeting_id == meeting_id, MeetingInsights.stale.is_(False))
        .values(stale=True)
    )


def rename_insight_speaker(
    session: Session, *, meeting_id: int, old: str | None, new: str | None
) -> None:
    """A speaker renamed throughout a meeting: action items they own and their sentiment follow
    the new name, and so do open tasks of the meeting assigned to the old one."""
    if old is None or new is None or old == new:
        return
    row = session.get(MeetingInsights, meeting_id, with_for_update=True)
    if row is not None:
        data = dict(row.data)
        data["action_items"] = [
            {**item, "owner": new} if item.get("owner") == old else item
            for item in data.get("action_items", [])
        ]
        sentiment = dict(data.get("sentiment") or {})
        by_speaker = dict(sentiment.get("by_speaker") or {})
        if old in by_speaker:
            by_speaker[new] = by_speaker.pop(old)
        sentiment["by_speaker"] = by_speaker
        data["sentiment"] = sentiment
        row.data = data
    session.execute(
        update(Task)
        .where(Task.meeting_id == meeting_id, Task.assignee == old)
        .values(assignee=new[:200])
    )
