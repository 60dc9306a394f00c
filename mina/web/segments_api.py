"""Corrections to a transcript: edit a segment's text or speaker, rename a speaker throughout."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from mina import store
from mina.models import Meeting, MeetingStatus
from mina.settings import Settings
from mina.shapes import SegmentOut, segment_out
from mina.web.deps import Db, Editor, get_settings
from mina.web.errors import ApiError, NotFound, error_responses
from mina.web.meetings_api import load_meeting

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["transcripts"])

ERRORS = error_responses(400, 401, 403, 404, 422)
AppSettings = Annotated[Settings, Depends(get_settings)]
SETTLED = (MeetingStatus.COMPLETED,)


class SegmentUpdate(BaseModel):
    """Send ``text``, ``speaker`` or both; ``speaker: null`` (or blank) removes the label."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # null text is refused (below): the document shows text as a string with a visible character
    text: (
        Annotated[str, Field(min_length=1, max_length=10_000, json_schema_extra={"pattern": r"\S"})]
        | SkipJsonSchema[None]
    ) = None
    speaker: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _something_to_change(self) -> SegmentUpdate:
        if not self.model_fields_set & {"text", "speaker"}:
            raise ValueError("send text, speaker or both")
        if "text" in self.model_fields_set and (self.text is None or not self.text.strip()):
            raise ValueError("text cannot be empty")
        return self


class SpeakerRename(BaseModel):
    """``from`` null means the segments without a speaker; ``to`` null or blank unlabels."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(alias="from", max_length=100)
    to: str | None = Field(max_length=100)


class SpeakerRenamed(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    meeting_id: int
    from_: str | None = Field(alias="from")
    to: str | None
    segments: int = Field(description="How many segments now carry the new name")


def reembed(db: Db, settings: Settings, meeting_id: int) -> None:
    """Search by meaning follows an edit: the meeting's passages are embedded again."""
    meeting = db.get(Meeting, meeting_id)
    if settings.semantic_search and meeting is not None and meeting.status in SETTLED:
        store.queue_meeting_job_once(db, meeting=meeting, name="embed")


@router.patch(
    "/segments/{segment_id}",
    response_model=SegmentOut,
    responses=ERRORS,
)
def update_segment(
    segment_id: int, body: SegmentUpdate, db: Db, principal: Editor, settings: AppSettings
) -> SegmentOut:
    """Correct a segment: the edit is shown everywhere; what the engine heard is kept."""
    segment = store.get_segment(db, workspace_id=principal.workspace.id, segment_id=segment_id)
    if segment is None:
        raise NotFound("Segment")
    if "text" in body.model_fields_set and body.text is not None:
        before = segment.display_text
        store.edit_segment_text(db, segment=segment, text=body.text)
        if segment.display_text != before:
            store.mark_insights_stale(db, meeting_id=segment.meeting_id)
            reembed(db, settings, segment.meeting_id)
    if "speaker" in body.model_fields_set:
        store.set_segment_speaker(db, segment=segment, speaker=body.speaker)
        reembed(db, settings, segment.meeting_id)
    db.commit()
    return segment_out(segment)


@router.post(
    "/meetings/{meeting_id}/speakers",
    response_model=SpeakerRenamed,
    response_model_by_alias=True,
    responses=ERRORS,
)
def rename_speaker(
    meeting_id: int, body: SpeakerRename, db: Db, principal: Editor, settings: AppSettings
) -> SpeakerRenamed:
    """Rename a speaker in every segment of the meeting."""
    meeting = load_meeting(db, principal, meeting_id)
    source = (body.from_ or "").strip() or None
    target = (body.to or "").strip() or None
    if source == target:
        raise ApiError(422, "validation_error", "Invalid request: from and to are the same.")
    changed = store.rename_speaker(db, meeting_id=meeting.id, old=source, new=target)
    store.rename_insight_speaker(db, meeting_id=meeting.id, old=source, new=target)
    if changed:
        reembed(db, settings, meeting.id)
    db.commit()
    logger.info("meeting %s: speaker renamed in %d segments", meeting.id, changed)
    return SpeakerRenamed(meeting_id=meeting.id, from_=source, to=target, segments=changed)
