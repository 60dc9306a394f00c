"""A meeting's insights: the summary, action items, decisions, questions, topics and
sentiment, and making them again."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mina import store
from mina.insights.job import JOB_NAME
from mina.models import Job, JobStatus, Meeting, MeetingStatus
from mina.web.deps import ApiPrincipal, Db, Editor
from mina.web.errors import ApiError, error_responses
from mina.web.meetings_api import NO_MEETING, load_meeting

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["insights"])


class CitedOut(BaseModel):
    text: str
    segment_id: int = Field(description="The segment it comes from")
    start_ms: int = Field(description="When that segment starts: play the moment")


class ActionItemOut(CitedOut):
    owner: str | None = Field(description="The person named, else the speaker who took it on")
    due_date: str | None = Field(description="YYYY-MM-DD, resolved against the meeting's date")
    task_id: int | None = Field(description="The task it became (null if that task was deleted)")
    task_status: str | None = Field(default=None, description="open or done")


class TopicOut(BaseModel):
    label: str
    weight: float = Field(description="0 to 1, the most central topic highest")


class SentimentOut(BaseModel):
    overall: float | None = Field(description="-1 (negative) to 1 (positive)")
    by_speaker: dict[str, float]


class InsightsOut(BaseModel):
    meeting_id: int
    status: str = Field(description="pending, running, done, failed or off (the insights job)")
    provider: str | None = Field(description="Who made them; says so when it fell back")
    model: str | None
    generated_at: datetime | None
    stale: bool = Field(description="The transcript was edited after they were made")
    summary: list[CitedOut]
    action_items: list[ActionItemOut]
    decisions: list[CitedOut]
    questions: list[CitedOut]
    topics: list[TopicOut]
    sentiment: SentimentOut
    note: str = ""
    error: str | None = Field(default=None, description="Why the latest job failed")


class InsightsQueued(BaseModel):
    meeting_id: int
    job_id: int


@router.get(
    "/meetings/{meeting_id}/insights",
    response_model=InsightsOut,
    responses=error_responses(401, NO_MEETING, 422),
)
def get_insights(meeting_id: int, db: Db, principal: ApiPrincipal) -> InsightsOut:
    """What Mina made of the meeting, each item citing the moment it comes from. ``status``
    follows the insights job; the items are the latest ones made (empty before the first)."""
    meeting = load_meeting(db, principal, meeting_id)
    return insights_out(db, meeting)


def insights_out(db: Db, meeting: Meeting) -> InsightsOut:
    job = store.latest_meeting_jobs(db, meeting_ids=[meeting.id], name=JOB_NAME).get(meeting.id)
    status = store.analysis_state(job.status if job is not None else None)
    row = store.get_insights(db, meeting_id=meeting.id)
    data = row.data if row is not None else {}
    if row is not None and status == "off":
        status = "done"
    tasks = store.meeting_task_states(db, meeting_id=meeting.id)
    sentiment = data.get("sentiment") or {}
    return InsightsOut(
        meeting_id=meeting.id,
        status=status,
        provider=row.provider if row else None,
        model=row.model if row else None,
        generated_at=row.generated_at if row else None,
        stale=row.stale if row else False,
        summary=[CitedOut(**p) for p in data.get("summary", [])],
        action_items=[
            ActionItemOut(
                **{**a, "task_id": a.get("task_id") if a.get("task_id") in tasks else None},
                task_status=tasks[a["task_id"]].value if a.get("task_id") in tasks else None,
            )
            for a in data.get("action_items", [])
        ],
        decisions=[CitedOut(**p) for p in data.get("decisions", [])],
        questions=[CitedOut(**p) for p in data.get("questions", [])],
        topics=[TopicOut(**t) for t in data.get("topics", [])],
        sentiment=SentimentOut(
            overall=sentiment.get("overall"), by_speaker=sentiment.get("by_speaker", {})
        ),
        note=data.get("note", ""),
        error=job.error if job is not None and job.status is JobStatus.FAILED else None,
    )


@router.post(
    "/meetings/{meeting_id}/insights",
    status_code=202,
    response_model=InsightsQueued,
    responses=error_responses(
        401, 403, NO_MEETING, (409, "The meeting is being recorded or transcribed"), 422
    ),
)
def regenerate_insights(meeting_id: int, db: Db, principal: Editor) -> InsightsQueued:
    """Make the meeting's insights again (after transcript edits, say). Tasks already made
    from its action items are kept as they are: none is duplicated or brought back."""
    meeting = load_meeting(db, principal, meeting_id)
    job = queue_insights(db, meeting)
    db.commit()
    return InsightsQueued(meeting_id=meeting.id, job_id=job.id)


def queue_insights(db: Db, meeting: Meeting) -> Job:
    """An ``insights`` job for this meeting (the one already waiting, if there is one); 409
    while the meeting is being recorded or transcribed."""
    if meeting.status in (MeetingStatus.LIVE, MeetingStatus.PROCESSING):
        raise ApiError(
            409,
            "meeting_busy",
            "The meeting is still being recorded or transcribed; its insights are made when it "
            "completes.",
        )
    job = store.queue_meeting_job_once(db, meeting=meeting, name=JOB_NAME)
    logger.info("meeting %s: insights to be made again (job %s)", meeting.id, job.id)
    return job
