"""``GET /api/meetings/{id}/export/{fmt}``: a meeting as a download in any registered format."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import Response

from mina import exporters
from mina.exporters.word import DOCX_TYPE
from mina.web.deps import ApiPrincipal, Db
from mina.web.errors import ApiError, error_responses
from mina.web.meetings_api import load_meeting

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["exports"])

MEDIA_TYPES = (
    "application/pdf",
    DOCX_TYPE,
    "text/plain",
    "text/markdown",
    "application/x-subrip",
    "text/vtt",
    "application/json",
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export, as an attachment named after the meeting",
        "content": {media_type: {} for media_type in MEDIA_TYPES},
    },
    **error_responses(401, (404, "No such meeting in your workspace, or format"), 422),
}


def content_disposition(title: str, extension: str) -> str:
    """``attachment`` with an ASCII ``filename`` and, when the title needs more, an RFC 5987
    ``filename*`` (RFC 6266) that keeps any script."""
    fallback = exporters.export_filename(title, extension, ascii_only=True)
    full = exporters.export_filename(title, extension)
    value = f'attachment; filename="{fallback}"'
    if full != fallback:
        value += f"; filename*=UTF-8''{quote(full, safe='')}"
    return value


@router.get(
    "/meetings/{meeting_id}/export/{fmt}",
    response_class=Response,
    responses=RESPONSES,
    summary="Export a meeting",
)
def export_meeting(
    meeting_id: int,
    db: Db,
    principal: ApiPrincipal,
    fmt: str = Path(description="txt, md, json, docx, pdf, srt or vtt"),
) -> Response:
    """The meeting's title, date, duration, participants and transcript (edits included)."""
    found = exporters.get_format(fmt)
    if found is None:
        names = ", ".join(f.extension for f in exporters.list_formats())
        raise ApiError(404, "unknown_format", f"No export format {fmt!r}. Formats: {names}.")
    meeting = load_meeting(db, principal, meeting_id)
    export = exporters.load_export(db, meeting=meeting)
    body = found.render(export)
    logger.info("meeting %s exported as %s (%d bytes)", meeting.id, found.extension, len(body))
    return Response(
        content=body,
        media_type=found.media_type,
        headers={
            "Content-Disposition": content_disposition(meeting.title, found.extension),
            "Cache-Control": "private, no-store",
        },
    )
