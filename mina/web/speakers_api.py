"""Who spoke: a meeting's speakers with their talk time, and labelling them again."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from mina import store
from mina.models import Job, Meeting, MeetingStatus
from mina.speakers.job import JOB_NAME
from mina.store.passages import count_passages
from mina.web.deps import ApiPrincipal, Db, Editor
from mina.web.errors import ApiError, error_responses
from mina.web.meetings_api import NO_MEETING, SpeakerCount, load_meeting

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["speakers"])


class SpeakerOut(BaseModel):
    speaker: str | None = Field(description="null: segments without a speaker label")
    talk_ms: int
    segments: int


class Speakers(BaseModel):
    meeting_id: int
    speakers: list[SpeakerOut] = Field(description="The most talkative first")


class DiarizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speakers: SpeakerCount | None = Field(
        default=None, description="How many people spoke (1 to 20); counted when left out"
    )


class DiarizeQueued(BaseModel):
    meeting_id: int
    job_id: int


@router.get(
    "/meetings/{meeting_id}/speakers",
    response_model=Speakers,
    responses=error_responses(401, NO_MEETING, 422),
)
def list_speakers(meeting_id: int, db: Db, principal: ApiPrincipal) -> Speakers:
    """The meeting's speakers and how long each talked."""
    meeting = load_meeting(db, principal, meeting_id)
    return Speakers(
        meeting_id=meeting.id,
        speakers=[
            SpeakerOut(speaker=s.speaker, talk_ms=s.talk_ms, segments=s.segments)
            for s in store.list_meeting_speakers(db, meeting_id=meeting.id)
        ],
    )


@router.post(
    "/meetings/{meeting_id}/diarize",
    status_code=202,
    response_model=DiarizeQueued,
    responses=error_responses(
        400,
        401,
        403,
        NO_MEETING,
        (409, "The meeting is being recorded or transcribed, or has no audio"),
        422,
    ),
)
def diarize(
    meeting_id: int, db: Db, principal: Editor, body: DiarizeRequest | None = None
) -> DiarizeQueued:
    """Label who spoke when again, with a speaker count if you know it. Names given to
    speakers stay on the voices they were given to."""
    meeting = load_meeting(db, principal, meeting_id)
    speakers = body.speakers if body is not None else None
    job = queue_diarize(db, meeting, speakers=speakers)
    db.commit()
    return DiarizeQueued(meeting_id=meeting.id, job_id=job.id)


def queue_diarize(db: Db, meeting: Meeting, *, speakers: int | None) -> Job:
    """A ``diarize`` job for this meeting; 409 while it cannot be labelled."""
    if meeting.status in (MeetingStatus.LIVE, MeetingStatus.PROCESSING):
        raise ApiError(
            409,
            "meeting_busy",
            "The meeting is still being recorded or transcribed; its speakers are labelled "
            "when it completes.",
        )
    if not store.meeting_has_audio(db, meeting_id=meeting.id):
        raise ApiError(409, "no_audio", "The meeting has no audio to tell its speakers apart.")
    payload = {"speakers": speakers} if speakers is not None else {}
    job = store.queue_meeting_job(db, meeting=meeting, name=JOB_NAME, payload=payload)
    logger.info("meeting %s: speakers to be labelled again (job %s)", meeting.id, job.id)
    if count_passages(db, meeting_id=meeting.id):
        # passages carry speakers (the speaker filter): embedded again after the new labels
        store.queue_meeting_job(db, meeting=meeting, name="embed")
    return job
