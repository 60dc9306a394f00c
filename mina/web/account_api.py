"""A person's own data through the API: ``POST /api/me/export`` (a zip of everything, made by a
job), ``GET /api/me/export/{job_id}`` (its download) and ``DELETE /api/me`` (the account)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from mina import security, store
from mina.jobs.base import JobQueue
from mina.models import JobStatus
from mina.privacy import export
from mina.privacy.deletion import remove_account_files
from mina.security import LoginThrottle
from mina.settings import Settings
from mina.web.deps import ApiPrincipal, Db, logout
from mina.web.errors import ApiError, NotFound, error_responses
from mina.web.rendering import flash

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["account"])


class ExportStarted(BaseModel):
    job_id: int = Field(description="Follow it with GET /api/jobs/{job_id}")


class AccountDeletion(BaseModel):
    password: str = Field(min_length=1, max_length=1024, description="The account's password")


_ZIP: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The archive (account.json, and each meeting's JSON and WAV audio)",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/me/export",
    status_code=202,
    response_model=ExportStarted,
    responses=error_responses(401, 403),
)
def start_export(request: Request, db: Db, principal: ApiPrincipal) -> JSONResponse:
    """Start making a zip of your data: your profile, workspaces and token names, and every
    meeting you organised, as JSON with its transcript and as WAV audio. While an export is
    running this answers the same job. Download it from ``GET /api/me/export/{job_id}`` once
    the job is done; it is kept for 24 hours, and a new export replaces it."""
    job = export.start_export(db, principal=principal)
    db.commit()
    jobs: JobQueue = request.app.state.jobs
    jobs.enqueue(export.JOB_NAME, job_id=job.id)
    logger.info("user %s asked for a data export (job %s)", principal.user.id, job.id)
    return JSONResponse({"job_id": job.id}, status_code=202)


@router.get(
    "/me/export/{job_id}",
    response_class=Response,
    responses={
        **_ZIP,
        **error_responses(
            401,
            (
                404,
                "No such export of yours (`not_found`), not finished yet (`export_not_ready`), "
                "or older than 24 hours or replaced (`export_expired`)",
            ),
            422,
        ),
    },
)
def download_export(job_id: int, request: Request, db: Db, principal: ApiPrincipal) -> Response:
    """The zip an export job made, for the user who asked for it only."""
    job = export.find_export(db, user_id=principal.user.id, job_id=job_id)
    if job is None:
        raise NotFound("Export")
    if job.status is not JobStatus.DONE:
        raise ApiError(404, "export_not_ready", "The export is not ready yet.")
    settings: Settings = request.app.state.settings
    path = export.ready_file(settings.export_dir, job)
    if path is None:
        raise ApiError(404, "export_expired", "This export is no longer available: make a new one.")
    return FileResponse(
        path,
        media_type="application/zip",
        filename=export.download_name(job.finished_at),
        headers={"Cache-Control": "private, no-store"},
    )


@router.delete(
    "/me",
    status_code=204,
    response_class=Response,
    responses=error_responses(
        (400, "The body is not valid JSON"),
        401,
        (403, "Wrong password (`wrong_password`), or a CSRF check failed: nothing is deleted"),
        (409, "You are recording, or a meeting of a workspace deleted with you is live"),
        (422, "No password given"),
        (429, "Too many wrong passwords: try again after Retry-After seconds"),
    ),
)
def delete_me(request: Request, body: AccountDeletion, db: Db, principal: ApiPrincipal) -> Response:
    """Delete your account, confirmed with your password: you, your API tokens (refused from
    the next request on) and sign-ins, your data exports, and every workspace where you are
    the only member, with its meetings and their audio. In a workspace shared with others your
    meetings stay, passed to its owner (the next member becomes owner if you were)."""
    password = body.password
    user = principal.user
    user_id = user.id
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(user.email, address)
    if wait:
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many wrong passwords. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    if not security.verify_password(user.password_hash, password):
        throttle.record_failure(user.email, address)
        raise ApiError(403, "wrong_password", "That is not your password. Nothing was deleted.")
    doomed = store.sole_workspaces(db, user_id=user_id)
    if store.is_recording(db, user_id=user_id, workspace_ids=doomed):
        raise ApiError(
            409,
            "recording_live",
            "A meeting is being recorded: stop the recording, then delete your account.",
        )
    deleted = store.delete_account(db, user_id=user_id)
    db.commit()
    settings: Settings = request.app.state.settings
    removed = remove_account_files(settings, deleted)
    logger.info(
        "account %s deleted: %d workspaces with %d meetings and %d audio files; %d shared "
        "workspaces left",
        user_id,
        len(deleted.deleted_workspaces),
        removed.meetings,
        removed.audio_files,
        len(deleted.left_workspaces),
    )
    if "authorization" not in request.headers:  # signed in with the cookie: sign out here too
        logout(request)
        flash(request, "Your account and its data were deleted.", "success")
    return Response(status_code=204)
