"""What a share link opens, with no login: ``/s/{token}``, a read-only page of one meeting (its
title, date, duration, summary and action items, transcript, and the audio when the link
includes it), ``/s/{token}/transcript.json`` that the page polls while the meeting is still
recorded, and ``/s/{token}/audio``.

An unknown, expired or revoked token gets the same 404 page (``mina.sharing.open_link`` takes the
same steps for each). Every address may call each route ``MINA_SHARE_REQUESTS_PER_MINUTE`` times a
minute, then gets 429. The security headers middleware adds ``X-Robots-Tag: noindex, nofollow``
and ``Referrer-Policy: no-referrer`` to everything under ``/s/``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from mina import sharing, store
from mina.models import Meeting, MeetingStatus, ShareLink
from mina.shapes import segment_out
from mina.web.deps import Db
from mina.web.errors import error_json
from mina.web.meetings_api import AudioFormat, audio_response

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/s", include_in_schema=False)

GONE_MESSAGE = "This link does not work: it may have expired or been revoked, or it was mistyped."
FOLLOWED = (MeetingStatus.LIVE, MeetingStatus.PROCESSING)  # the page polls for new segments


class SharedSegment(BaseModel):
    """A segment as a shared page shows it: what people see, without the words or the text
    before an edit."""

    id: int
    seq: int
    text: str
    start_ms: int
    end_ms: int
    speaker: str | None


class SharedTranscript(BaseModel):
    status: MeetingStatus
    duration_ms: int | None
    segments: list[SharedSegment]


def _page(request: Request, template: str, context: dict[str, Any], status: int) -> Response:
    """A page for someone with no session: no CSRF token, no cookie, nothing cached."""
    templates: Jinja2Templates = request.app.state.templates
    full = {"principal": None, "csrf_token": "", "messages": [], **context}
    response = templates.TemplateResponse(request, template, full, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _gone(request: Request, as_json: bool = False) -> Response:
    if as_json:
        response: Response = error_json(404, "not_found", GONE_MESSAGE)
        response.headers["Cache-Control"] = "no-store"
        return response
    return _page(
        request,
        "shared_error.html",
        {"title": "Link not found", "status": 404, "message": GONE_MESSAGE},
        404,
    )


def _throttled(request: Request, route: str, as_json: bool = False) -> Response | None:
    """The 429 answer when this address called ``route`` too often this minute, else None."""
    address = request.client.host if request.client else "unknown"
    wait = request.app.state.share_limiter.hit(f"{route} {address}")
    if not wait:
        return None
    logger.warning("share link %s requests throttled for %s", route, address)
    message = f"Too many requests from your address. Try again in {wait} seconds."
    if as_json:
        response: Response = error_json(429, "too_many_requests", message)
    else:
        response = _page(
            request,
            "shared_error.html",
            {"title": "Too many requests", "status": 429, "message": message},
            429,
        )
    response.headers["Retry-After"] = str(wait)
    return response


def _open(db: Db, token: str) -> tuple[ShareLink, Meeting] | None:
    link = sharing.open_link(db, token=token)
    if link is None:
        return None
    meeting = store.get_meeting(db, workspace_id=link.workspace_id, meeting_id=link.meeting_id)
    return (link, meeting) if meeting else None


def _shared_segments(db: Db, meeting: Meeting) -> list[SharedSegment]:
    fields = set(SharedSegment.model_fields)
    return [
        SharedSegment(**segment_out(s).model_dump(include=fields))
        for s in store.list_transcript(db, meeting_id=meeting.id)
    ]


@router.get("/{token}")
def shared_meeting(token: str, request: Request, db: Db) -> Response:
    refused = _throttled(request, "page")
    if refused:
        return refused
    opened = _open(db, token)
    if opened is None:
        return _gone(request)
    link, meeting = opened
    stats = store.meeting_stats(db, meeting_ids=[meeting.id])[meeting.id]
    following = meeting.status in FOLLOWED
    insights = None if following else store.get_insights(db, meeting_id=meeting.id)
    data = insights.data if insights else {}
    context = {
        "meeting": meeting,
        "segments": _shared_segments(db, meeting),
        "duration_ms": store.meeting_duration_ms(meeting, stats),
        "following": following,
        "summary": data.get("summary") or [],
        "action_items": data.get("action_items") or [],
        "audio": link.include_audio
        and not following
        and store.meeting_has_audio(db, meeting_id=meeting.id),
        "expires_at": link.expires_at,
    }
    return _page(request, "shared.html", context, 200)


@router.get("/{token}/transcript.json")
def shared_transcript(token: str, request: Request, db: Db) -> Response:
    """The transcript so far and the meeting's status: the page polls it while recording."""
    refused = _throttled(request, "transcript", as_json=True)
    if refused:
        return refused
    opened = _open(db, token)
    if opened is None:
        return _gone(request, as_json=True)
    meeting = opened[1]
    stats = store.meeting_stats(db, meeting_ids=[meeting.id])[meeting.id]
    body = SharedTranscript(
        status=meeting.status,
        duration_ms=store.meeting_duration_ms(meeting, stats),
        segments=_shared_segments(db, meeting),
    )
    return Response(
        body.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/{token}/audio")
def shared_audio(
    token: str, request: Request, db: Db, format: AudioFormat = AudioFormat.WAV
) -> Response:
    """The audio, with Range, when the link includes it (otherwise the same 404 page)."""
    refused = _throttled(request, "audio")
    if refused:
        return refused
    opened = _open(db, token)
    if opened is None or not opened[0].include_audio:
        return _gone(request)
    return audio_response(request, db, opened[1], format)
