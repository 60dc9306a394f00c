"""The ``insights`` job: make a completed meeting's insights, store them, turn its action items
into tasks and give each segment its sentiment.

Queued when a recording or an upload completes its meeting (``Settings.post_meeting_jobs``,
after ``diarize`` so owners can fall back to speakers) and by
``POST /api/meetings/{id}/insights``. While an earlier ``diarize`` job of the meeting is still
to finish, the job waits for it (``JobDeferred``). Idempotent: run again, it replaces the
insights and finds the tasks it made before (``store.sync_insight_tasks``).

Providers cite segments by id; here every citation is checked against the meeting and an item
citing nothing real is dropped, then each item gets the ``start_ms`` of its segment.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mina import store
from mina.comments.assignments import notify_assignee
from mina.db import transaction
from mina.insights.base import Insights, MeetingText, Point, SourceSegment
from mina.insights.registry import load_provider
from mina.jobs.base import JobContext, settled_meeting
from mina.models import Meeting
from mina.settings import Settings

logger = logging.getLogger(__name__)

JOB_NAME = "insights"
# the jobs whose results insights read, when they were queued before this one
WAITS_FOR = ("diarize",)


def generate_insights(context: JobContext, *, job_id: int) -> None:
    """Make and store the insights of the job's meeting (see the module docstring)."""
    with transaction(context.sessions) as session:
        meeting = settled_meeting(session, job_id=job_id, waits_for=WAITS_FOR)
        if meeting is None:
            return
        text = load_meeting_text(session, meeting=meeting)
    insights = make_insights(context.settings, text)
    context.check_stop()
    with transaction(context.sessions) as session:
        # the meeting row before the job's own row and the segments (see store.lock_meeting)
        meeting = store.lock_meeting(session, meeting_id=text.meeting_id)
        if meeting is None:
            return  # deleted meanwhile: this job's row went with it
        store.update_job(session, job_id=job_id, progress=0.9)
        store_insights(session, meeting=meeting, insights=insights)


def make_insights(settings: Settings, text: MeetingText) -> Insights:
    """The configured provider's insights of ``text`` (blocking: a job thread or the CLI)."""
    started, cpu = time.perf_counter(), time.process_time()
    name = settings.insight_provider
    provider = load_provider("local" if name == "off" else name, settings)
    if not text.segments:
        return Insights(
            provider=provider.name, model=provider.model, note="The meeting has no transcript."
        )
    insights = provider.generate(text)
    logger.info(
        "meeting %s: insights by %s in %.1f s (%.1f CPU s): %d summary points, %d action "
        "items, %d decisions",
        text.meeting_id,
        insights.provider,
        time.perf_counter() - started,
        time.process_time() - cpu,
        len(insights.summary),
        len(insights.action_items),
        len(insights.decisions),
    )
    return insights


def load_meeting_text(session: Session, *, meeting: Meeting) -> MeetingText:
    """What a provider reads of ``meeting``: the transcript as people see it."""
    segments = tuple(
        SourceSegment(s.id, s.start_ms, s.end_ms, s.speaker, s.display_text)
        for s in store.list_transcript(session, meeting_id=meeting.id)
        if s.display_text.strip()
    )
    start = meeting.actual_start or meeting.created_at
    return MeetingText(
        meeting_id=meeting.id,
        title=meeting.title,
        reference=start.astimezone(),  # the server's time zone: "tomorrow" is local
        segments=segments,
        language=meeting.language,
    )


@dataclass(frozen=True)
class _Cited:
    start_ms: dict[int, int]

    def point(self, point: Point) -> dict[str, Any] | None:
        start = self.start_ms.get(point.segment_id)
        if start is None:
            return None
        return {"text": point.text, "segment_id": point.segment_id, "start_ms": start}


def store_insights(session: Session, *, meeting: Meeting, insights: Insights) -> dict[str, Any]:
    """Store ``insights`` for ``meeting`` (in the caller's transaction): citations checked
    against the meeting's segments as they are now, tasks made for new action items, the
    ``insights.ready`` webhooks queued. Returns the stored data."""
    segments = store.list_transcript(session, meeting_id=meeting.id)
    cited = _Cited({s.id: s.start_ms for s in segments})
    dropped = 0

    def points(items: tuple[Point, ...]) -> list[dict[str, Any]]:
        nonlocal dropped
        kept = [p for p in (cited.point(item) for item in items) if p is not None]
        dropped += len(items) - len(kept)
        return kept

    actions = [a for a in insights.action_items if a.segment_id in cited.start_ms]
    dropped += len(insights.action_items) - len(actions)
    had = store.meeting_task_states(session, meeting_id=meeting.id)
    task_ids = store.sync_insight_tasks(
        session,
        meeting=meeting,
        items=[
            store.InsightItem(
                a.text, a.segment_id, cited.start_ms[a.segment_id], a.owner, a.due_date
            )
            for a in actions
        ],
    )
    for task_id in task_ids:
        if task_id is not None and task_id not in had:  # made now: its owner may be a member
            task = store.get_task(session, workspace_id=meeting.workspace_id, task_id=task_id)
            if task is not None:
                notify_assignee(session, task=task, actor_id=None)
    sentiment = insights.sentiment
    by_segment = {
        sid: round(max(-1.0, min(1.0, score)), 4)
        for sid, score in sentiment.by_segment.items()
        if sid in cited.start_ms
    }
    summary = points(insights.summary)
    decisions = points(insights.decisions)
    questions = points(insights.questions)
    note = insights.note
    if dropped:
        items = "1 item" if dropped == 1 else f"{dropped} items"
        note = (note + " " if note else "") + f"{items} citing no segment were dropped."
    data: dict[str, Any] = {
        "summary": summary,
        "action_items": [
            {
                "text": a.text,
                "owner": a.owner,
                "due_date": a.due_date.isoformat() if a.due_date else None,
                "segment_id": a.segment_id,
                "start_ms": cited.start_ms[a.segment_id],
                "task_id": task_id,
            }
            for a, task_id in zip(actions, task_ids, strict=True)
        ],
        "decisions": decisions,
        "questions": questions,
        "topics": [
            {"label": t.label, "weight": round(max(0.0, min(1.0, t.weight)), 4)}
            for t in insights.topics
        ],
        "sentiment": {
            "overall": _round(sentiment.overall),
            "by_speaker": {k: round(v, 4) for k, v in sentiment.by_speaker.items()},
        },
        "note": note,
    }
    store.save_insights(
        session,
        meeting_id=meeting.id,
        provider=insights.provider,
        model=insights.model,
        data=data,
        sentiment=_round(sentiment.overall),
        segment_sentiment=by_segment,
    )
    store.record_event(
        session,
        workspace_id=meeting.workspace_id,
        event="insights.ready",
        payload={
            "meeting": {
                **store.meeting_event(meeting),
                "insights": {
                    "provider": insights.provider,
                    "model": insights.model,
                    "summary": [point["text"] for point in summary],
                    "action_items": [
                        {k: item[k] for k in ("text", "owner", "due_date", "task_id")}
                        for item in data["action_items"]
                    ],
                    "decisions": [point["text"] for point in decisions],
                },
            }
        },
    )
    return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(max(-1.0, min(1.0, value)), 4)
