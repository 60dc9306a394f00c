"""Uploads and jobs: ``POST /api/transcriptions`` (a file becomes a meeting) and
``GET /api/jobs/{id}`` (how its transcription goes)."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from mina import store
from mina.audio import AudioDecodeError, AudioInfo, probe_file
from mina.db import transaction
from mina.jobs.base import JobQueue
from mina.models import JobStatus
from mina.settings import Settings
from mina.speakers.job import MAX_SPEAKERS
from mina.uploads import (
    FORM_OVERHEAD_BYTES,
    JOB_NAME,
    MultipartReceiver,
    ReceivedUpload,
    UploadRejected,
    too_large,
)
from mina.web.deps import ApiPrincipal, Db, Editor
from mina.web.errors import ApiError, NotFound, error_responses

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["uploads"])

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")

UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Any audio or video file FFmpeg reads (WAV, MP3, "
                            "Ogg/Opus, M4A/AAC, WebM, MP4, ...).",
                        },
                        "title": {"type": "string", "maxLength": 300},
                        "language": {
                            "type": "string",
                            "description": "Spoken language (ISO 639-1, e.g. en); default en.",
                        },
                        "speakers": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_SPEAKERS,
                            "description": "How many people speak, if you know; counted when "
                            "left out.",
                        },
                    },
                }
            }
        },
    }
}


class TranscriptionStarted(BaseModel):
    meeting_id: int
    job_id: int


class JobOut(BaseModel):
    id: int
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    meeting_id: int | None
    error: str | None


@router.post(
    "/transcriptions",
    status_code=202,
    response_model=TranscriptionStarted,
    responses=error_responses(
        (400, "Malformed form data, or an empty file"),
        401,
        (403, "Forbidden: a CSRF check failed, or the caller is a viewer"),
        (408, "The body stopped arriving for MINA_IDLE_TIMEOUT_S seconds"),
        (413, "The file is larger than MINA_MAX_UPLOAD_MB"),
        (415, "Not multipart form data, or not audio Mina can decode"),
        (422, "No file field, or a bad title or language"),
    ),
    openapi_extra=UPLOAD_FORM,
)
async def create_transcription(request: Request, principal: Editor) -> JSONResponse:
    """Upload an audio or video file: it streams to disk, is checked to be decodable audio,
    and becomes a meeting (``processing``) that a job transcribes. Poll ``GET /api/jobs/{id}``."""
    settings: Settings = request.app.state.settings
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise _rejected(too_large(limit))
    try:
        receiver = MultipartReceiver(
            request.headers.get("content-type", ""),
            directory=settings.upload_dir / str(principal.workspace.id),
            max_bytes=limit,
        )
    except UploadRejected as exc:
        raise _rejected(exc) from exc
    try:
        upload = await _receive(request, receiver)
        fields = _form_fields(upload)
        info = await asyncio.to_thread(_probe, upload)
        created = await asyncio.to_thread(
            _create, request.app.state.sessions, settings, principal, upload, info, fields
        )
    except BaseException as exc:
        await asyncio.to_thread(receiver.discard)
        if isinstance(exc, UploadRejected):
            raise _rejected(exc) from exc
        if isinstance(exc, ClientDisconnect):
            logger.info("an upload was abandoned by the client after %d bytes", receiver.received)
            raise ApiError(400, "upload_incomplete", "The upload did not finish.") from exc
        raise
    jobs: JobQueue = request.app.state.jobs
    jobs.enqueue(JOB_NAME, job_id=created.job_id)
    logger.info(
        "upload %s (%d bytes, %s/%s, %.1f s) is meeting %s, job %s",
        upload.filename,
        upload.size,
        info.format,
        info.codec,
        info.duration_s or 0,
        created.meeting_id,
        created.job_id,
    )
    return JSONResponse(created.model_dump(), status_code=202)


async def _receive(request: Request, receiver: MultipartReceiver) -> ReceivedUpload:
    """The body to disk as it arrives; a client that sends nothing for ``MINA_IDLE_TIMEOUT_S``
    (a laptop that slept, a dead link the kernel has not noticed) is given up on."""
    idle_timeout_s: float = request.app.state.settings.idle_timeout_s
    chunks = aiter(request.stream())
    while True:
        try:
            chunk = await asyncio.wait_for(anext(chunks), timeout=idle_timeout_s)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise UploadRejected(
                408, "upload_stalled", f"Nothing arrived for {idle_timeout_s:g} s."
            ) from None
        if chunk:
            await asyncio.to_thread(receiver.feed, chunk)
    return await asyncio.to_thread(receiver.finish)


def _probe(upload: ReceivedUpload) -> AudioInfo:
    try:
        return probe_file(upload.path)
    except AudioDecodeError as exc:
        raise UploadRejected(
            415,
            "not_audio",
            f"{upload.filename or 'The file'} is not audio or video that Mina can decode.",
        ) from exc


@dataclass(frozen=True)
class _Fields:
    title: str
    language: str
    speakers: int | None


def _form_fields(upload: ReceivedUpload) -> _Fields:
    title = upload.fields.get("title", "").strip()
    if len(title) > 300:
        raise UploadRejected(422, "validation_error", "title: at most 300 characters.")
    language = upload.fields.get("language", "").strip() or "en"
    if not LANGUAGE.match(language):
        raise UploadRejected(
            422, "validation_error", "language: use a language code such as en or de."
        )
    if not title:
        title = Path(upload.filename).stem.replace("_", " ").strip()
    return _Fields(title, language, _speaker_count(upload.fields.get("speakers", "")))


def _speaker_count(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_SPEAKERS:
        raise UploadRejected(
            422,
            "validation_error",
            f"speakers: a whole number from 1 to {MAX_SPEAKERS}, or leave it out.",
        )
    return int(value)


def _create(
    sessions: Any,
    settings: Settings,
    principal: store.Principal,
    upload: ReceivedUpload,
    info: AudioInfo,
    fields: _Fields,
) -> TranscriptionStarted:
    with transaction(sessions) as session:
        created = store.create_upload(
            session,
            principal=principal,
            audio_dir=settings.audio_dir,
            title=fields.title,
            language=fields.language,
            expected_speakers=fields.speakers,
            engine=settings.engine,
            model=settings.model,
            job_name=JOB_NAME,
            payload={
                "upload_path": str(upload.path),
                "filename": upload.filename[:300],
                "size": upload.size,
                "format": info.format,
                "codec": info.codec,
                "duration_s": info.duration_s,
            },
        )
        return TranscriptionStarted(meeting_id=created.meeting.id, job_id=created.job.id)


def _rejected(exc: UploadRejected) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses=error_responses(401, (404, "No such job in your workspace"), 422),
)
def get_job(job_id: int, db: Db, principal: ApiPrincipal) -> JobOut:
    """A background job of your workspace: status, progress 0..1, its meeting, its error."""
    job = store.get_job(db, workspace_id=principal.workspace.id, job_id=job_id)
    owner = store.job_owner(job) if job is not None else None
    if job is None or owner not in (None, principal.user.id):  # another member's data export
        raise NotFound("Job")
    return JobOut(
        id=job.id,
        status=job.status,
        progress=round(job.progress, 4),
        meeting_id=job.meeting_id,
        error=job.error,
    )
