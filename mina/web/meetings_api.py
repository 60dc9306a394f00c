"""The meetings API: list, read, rename, delete, transcript, audio (with HTTP Range)."""

from __future__ import annotations

import logging
import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from mina import store
from mina.models import Meeting, MeetingStatus
from mina.playback import (
    OPUS_MEDIA_TYPE,
    ensure_playback,
    meeting_audio,
    read_wav,
    remove_meeting_audio,
)
from mina.shapes import MeetingOut, SegmentOut, meeting_out, segment_out
from mina.speakers.job import JOB_NAME as DIARIZE_JOB
from mina.speakers.job import MAX_SPEAKERS
from mina.web.deps import ApiPrincipal, Db, Editor
from mina.web.errors import ApiError, NotFound, error_responses

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["meetings"])

NO_MEETING = (404, "No such meeting in your workspace")


class MatchOut(BaseModel):
    segment_id: int
    start_ms: int
    snippet: str = Field(description="Escaped HTML of the passage, the matched words in <mark>")


class MeetingListItem(MeetingOut):
    matches: list[MatchOut] = Field(
        default_factory=list, description="When searching: the matching passages, in order"
    )


class MeetingPage(BaseModel):
    items: list[MeetingListItem]
    total: int = Field(description="Meetings that match (a lower bound when total_exact is false)")
    total_exact: bool = True
    page: int
    per_page: int


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a whole number, not true or false")
    return value


# How many people spoke: a whole number (19.0 is one, 2.5 and true are not) from 1 to 20.
SpeakerCount = Annotated[int, Field(ge=1, le=MAX_SPEAKERS), BeforeValidator(_not_a_bool)]


class MeetingUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    expected_speakers: SpeakerCount | None = Field(
        default=None,
        description="How many people spoke; setting it labels a completed meeting's speakers "
        "again with that count (null: count them)",
    )


class Transcript(BaseModel):
    meeting_id: int
    segments: list[SegmentOut]


def load_meeting(db: Db, principal: store.Principal, meeting_id: int) -> Meeting:
    meeting = store.get_meeting(db, workspace_id=principal.workspace.id, meeting_id=meeting_id)
    if meeting is None:
        raise NotFound("Meeting")
    return meeting


@router.get("/meetings", response_model=MeetingPage, responses=error_responses(401, 422))
def list_meetings(
    db: Db,
    principal: ApiPrincipal,
    q: Annotated[
        str | None, Query(max_length=200, description="Search titles and transcripts")
    ] = None,
    status: MeetingStatus | None = None,
    date_from: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, inclusive")] = None,
    sort: Annotated[
        store.MeetingSort | None,
        Query(description="Default: relevance when searching, else newest"),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MeetingPage:
    """The workspace's meetings, filtered and sorted; with ``q``, a full-text search whose
    items carry highlighted snippets of the matching passages."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ApiError(422, "validation_error", "Invalid request: from is after to.")
    results = store.search_meetings(
        db,
        workspace_id=principal.workspace.id,
        q=q,
        status=status,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return meeting_page(db, results)


def meeting_page(db: Db, results: store.MeetingResults) -> MeetingPage:
    meetings = [hit.meeting for hit in results.items]
    stats = store.meeting_stats(db, meeting_ids=[m.id for m in meetings])
    return MeetingPage(
        items=[
            MeetingListItem(
                **meeting_out(hit.meeting, stats[hit.meeting.id]).model_dump(),
                matches=[
                    MatchOut(segment_id=m.segment_id, start_ms=m.start_ms, snippet=str(m.snippet))
                    for m in hit.matches
                ],
            )
            for hit in results.items
        ],
        total=results.total,
        total_exact=results.total_exact,
        page=results.page,
        per_page=results.per_page,
    )


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingOut,
    responses=error_responses(401, NO_MEETING, 422),
)
def get_meeting(meeting_id: int, db: Db, principal: ApiPrincipal) -> MeetingOut:
    meeting = load_meeting(db, principal, meeting_id)
    return meeting_out(meeting, store.meeting_stats(db, meeting_ids=[meeting.id])[meeting.id])


@router.patch(
    "/meetings/{meeting_id}",
    response_model=MeetingOut,
    responses=error_responses(400, 401, 403, NO_MEETING, 422),
)
def update_meeting(meeting_id: int, body: MeetingUpdate, db: Db, principal: Editor) -> MeetingOut:
    meeting = load_meeting(db, principal, meeting_id)
    store.update_meeting(db, meeting=meeting, title=body.title, description=body.description)
    if (
        "expected_speakers" in body.model_fields_set
        and body.expected_speakers != meeting.expected_speakers
    ):
        meeting.expected_speakers = body.expected_speakers
        if meeting.status is MeetingStatus.COMPLETED and store.meeting_has_audio(
            db, meeting_id=meeting.id
        ):
            store.queue_meeting_job(db, meeting=meeting, name=DIARIZE_JOB)
    db.commit()
    return meeting_out(meeting, store.meeting_stats(db, meeting_ids=[meeting.id])[meeting.id])


@router.delete(
    "/meetings/{meeting_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(
        401, 403, NO_MEETING, (409, "The meeting is being recorded: stop it first"), 422
    ),
)
def delete_meeting(meeting_id: int, request: Request, db: Db, principal: Editor) -> Response:
    meeting = load_meeting(db, principal, meeting_id)
    if meeting.status is MeetingStatus.LIVE:
        raise ApiError(409, "meeting_live", "Stop the recording before deleting the meeting.")
    paths = store.delete_meeting(db, meeting=meeting)
    db.commit()
    removed = remove_meeting_audio(meeting_id, paths)
    logger.info("meeting %s deleted with %d audio files", meeting_id, removed)
    return Response(status_code=204)


@router.get(
    "/meetings/{meeting_id}/transcript",
    response_model=Transcript,
    responses=error_responses(401, NO_MEETING, 422),
)
def get_transcript(meeting_id: int, db: Db, principal: ApiPrincipal) -> Transcript:
    meeting = load_meeting(db, principal, meeting_id)
    segments = store.list_transcript(db, meeting_id=meeting.id)
    return Transcript(meeting_id=meeting.id, segments=[segment_out(s) for s in segments])


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class AudioFormat(StrEnum):
    WAV = "wav"
    OPUS = "opus"


_AUDIO_CONTENT = {
    "audio/wav": {"schema": {"type": "string", "format": "binary"}},
    "audio/ogg": {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/meetings/{meeting_id}/audio",
    responses={
        200: {
            "description": "The whole recording: WAV 16 kHz mono (every acknowledged byte), or "
            "with `format=opus` the compressed copy for playback (Ogg Opus, 24 kbit/s)",
            "content": _AUDIO_CONTENT,
        },
        206: {"description": "The bytes a Range header asked for", "content": _AUDIO_CONTENT},
        **error_responses(
            401,
            (404, "No such meeting in your workspace, or it has no audio"),
            (409, "`format=opus` while the meeting is being recorded: WAV has it all so far"),
            416,
            422,
        ),
    },
    response_class=Response,
)
def get_audio(
    meeting_id: int,
    request: Request,
    db: Db,
    principal: ApiPrincipal,
    format: AudioFormat = AudioFormat.WAV,
) -> Response:
    """The meeting's audio, with Range support: WAV (16 kHz mono, every acknowledged byte, also
    while it is recorded) or ``format=opus``, the compressed copy the meeting page plays
    (made when the recording stopped, or now if it is missing)."""
    meeting = load_meeting(db, principal, meeting_id)
    return audio_response(request, db, meeting, format)


def audio_response(request: Request, db: Db, meeting: Meeting, format: AudioFormat) -> Response:
    """A meeting's audio as WAV with HTTP Range, or its Opus playback copy: what
    ``GET /api/meetings/{id}/audio`` answers, and a share link's player too."""
    audio = meeting_audio(meeting.id, store.list_recordings(db, meeting_id=meeting.id))
    if audio is None:
        raise ApiError(404, "no_audio", "This meeting has no audio.")
    filename = re.sub(r"[^\w.-]+", "-", meeting.title, flags=re.ASCII).strip("-")[:80] or "meeting"
    if format is AudioFormat.OPUS:
        if meeting.status is MeetingStatus.LIVE:
            raise ApiError(
                409,
                "meeting_live",
                "The meeting is being recorded; its audio so far is available as WAV.",
            )
        db.close()  # encoding may take seconds: hold no database connection meanwhile
        return FileResponse(
            ensure_playback(audio),
            media_type=OPUS_MEDIA_TYPE,
            headers={"Cache-Control": "private, max-age=0"},
            filename=f"{filename}.opus",
            content_disposition_type="inline",
        )
    total = audio.wav_size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=0"}
    range_header = request.headers.get("range")
    start, end, status = 0, total - 1, 200
    if range_header:
        match = _RANGE.match(range_header.strip())
        if not match or (not match.group(1) and not match.group(2)):
            raise ApiError(
                416,
                "bad_range",
                "Unsupported Range header.",
                headers={"Content-Range": f"bytes */{total}"},
            )
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), total - 1) if match.group(2) else total - 1
        else:
            start = max(0, total - int(match.group(2)))
        if start >= total or start > end:
            raise ApiError(
                416,
                "range_not_satisfiable",
                "Range outside the audio.",
                headers={"Content-Range": f"bytes */{total}"},
            )
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Disposition"] = f'inline; filename="{filename}.wav"'
    return StreamingResponse(
        read_wav(audio, start, end),
        status_code=status,
        media_type="audio/wav",
        headers=headers,
    )
