"""Download my data: one zip of everything Mina holds about a person, made by a job.

The archive holds ``account.json`` (profile, workspaces, API token names; never a secret) and,
for each meeting the person organised in their workspaces, ``meetings/<id> <title>/meeting.json``
(the JSON export: the API's Meeting shape with its segments) and ``audio.wav`` (the bytes
``GET /api/meetings/{id}/audio`` serves). It is written to
``<data dir>/exports/<user id>/mina-export-<job id>.zip``, audio streamed from disk into the zip
(stored, not deflated: PCM hardly compresses), then renamed into place. Only its owner can
download it, for ``KEEP_S``; a new export replaces the previous one, and housekeeping deletes
expired ones and those of deleted accounts.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mina import __version__, exporters, store
from mina.db import transaction
from mina.exporters.document import iso_datetime
from mina.jobs.base import JobContext, JobError
from mina.models import Comment, Job, JobStatus, Task, User, utcnow
from mina.playback import MeetingAudio, meeting_audio, read_wav

logger = logging.getLogger(__name__)

JOB_NAME = "export_user_data"
KEEP_S = 24 * 3600  # how long a finished export can be downloaded
MEETING_COST = 64 * 1024  # progress weight of a meeting's JSON, against its audio's bytes
PROGRESS_EVERY_S = 0.5  # at most this often a progress write
ZIP64_FROM = 2**31  # members this large need zip64 headers, which must be asked for up front

README = """\
Your data from Mina
===================

account.json          your profile, your workspaces, the names of your API tokens
                      (never a token itself), your tasks: those you added and those
                      of your meetings, and the comments you wrote on transcripts
meetings/<id> <title>/
    meeting.json      the meeting as the API shows it, with every transcript segment
                      (edited text, original text, speaker, times, words)
    audio.wav         its recorded audio, 16 kHz mono, as the meeting page plays it

The meetings are those you organised in your workspaces. Times in meeting.json are
milliseconds on audio.wav's clock.
"""


@dataclass(frozen=True)
class ExportState:
    """The latest export of a user, for the settings page."""

    job_id: int
    status: JobStatus
    progress: float
    error: str | None
    ready: bool  # done, its file is there and not expired


def export_path(export_dir: Path, *, user_id: int, job_id: int) -> Path:
    return export_dir / str(user_id) / f"mina-export-{job_id}.zip"


def download_name(finished_at: datetime | None) -> str:
    """The file name a browser saves the archive as."""
    return f"mina-data-{(finished_at or utcnow()):%Y-%m-%d}.zip"


def start_export(session: Session, *, principal: store.Principal) -> Job:
    """The user's export job: the one already queued or running, else a new one (the caller
    commits, then enqueues it)."""
    unfinished = store.list_user_jobs(
        session, name=JOB_NAME, user_id=principal.user.id, unfinished=True
    )
    if unfinished:
        return unfinished[0]
    return store.create_job(
        session,
        workspace_id=principal.workspace.id,
        name=JOB_NAME,
        payload={"user_id": principal.user.id},
    )


def find_export(session: Session, *, user_id: int, job_id: int) -> Job | None:
    """This user's export job; anyone else's, or any other job, is None like a missing one."""
    job = store.load_job(session, job_id=job_id) if 0 < job_id < 2**31 else None
    if job is None or job.name != JOB_NAME or store.job_owner(job) != user_id:
        return None
    return job


def ready_file(export_dir: Path, job: Job) -> Path | None:
    """The archive of a finished export, if it is there and not expired."""
    if job.status is not JobStatus.DONE or job.finished_at is None:
        return None
    if utcnow() - job.finished_at > timedelta(seconds=KEEP_S):
        return None
    owner = store.job_owner(job)
    path = export_path(export_dir, user_id=owner or 0, job_id=job.id)
    return path if path.is_file() else None


def latest_export(session: Session, *, user_id: int, export_dir: Path) -> ExportState | None:
    """The user's most recent export, unless it ended and can no longer be downloaded."""
    jobs = store.list_user_jobs(session, name=JOB_NAME, user_id=user_id)
    if not jobs:
        return None
    job = jobs[0]
    ready = ready_file(export_dir, job) is not None
    if job.status is JobStatus.DONE and not ready:
        return None
    return ExportState(job.id, job.status, job.progress, job.error, ready)


# --- the job --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    meeting_id: int
    title: str
    audio: MeetingAudio | None

    @property
    def cost(self) -> int:
        return MEETING_COST + (self.audio.wav_size if self.audio else 0)


@dataclass(frozen=True)
class _Plan:
    """Who the export is for, their account document and the meetings to write."""

    user_id: int
    account: dict[str, Any]
    meetings: list[_Planned]


class _Cancelled(Exception):
    """The job's row went away (its account was deleted) while it ran."""


class _Progress:
    """Writes the job's progress (bytes done of the total) now and then; raises ``_Cancelled``
    when the job is gone and stops at a server shutdown."""

    def __init__(self, context: JobContext, job_id: int, total: int) -> None:
        self.context = context
        self.job_id = job_id
        self.total = max(1, total)
        self.done = 0
        self._written_at = 0.0

    def advance(self, amount: int) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self._written_at >= PROGRESS_EVERY_S:
            self._written_at = now
            self.write()
        self.context.check_stop()

    def write(self) -> None:
        with transaction(self.context.sessions) as session:
            # 0.99 at most until the archive is in place: "done" alone says it can be downloaded
            fraction = min(0.99, self.done / self.total)
            if not store.update_job(session, job_id=self.job_id, progress=fraction):
                raise _Cancelled()


def export_user_data(context: JobContext, *, job_id: int) -> None:
    """Job: write the user's archive (see the module docstring)."""
    plan = _plan(context.sessions, job_id)
    user_id = plan.user_id
    folder = context.settings.export_dir / str(user_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = export_path(context.settings.export_dir, user_id=user_id, job_id=job_id)
    for old in folder.iterdir():  # a new export replaces the previous ones
        if old != target:
            _remove(old)
    scratch = folder / f".{target.name}.partial"
    progress = _Progress(context, job_id, sum(item.cost for item in plan.meetings))
    try:
        meetings = _write_archive(context, scratch, plan, progress)
        with scratch.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(scratch, target)
        with transaction(context.sessions) as session:
            payload = {"user_id": user_id, "meetings": meetings, "size": target.stat().st_size}
            if not store.update_job(session, job_id=job_id, progress=0.99, payload=payload):
                raise _Cancelled()
    except _Cancelled:
        scratch.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        logger.info("export job %s stopped: its account was deleted", job_id)
        return
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    logger.info(
        "data export %s of user %s: %d meetings, %d KiB",
        job_id,
        user_id,
        meetings,
        target.stat().st_size // 1024,
    )


def _plan(sessions: sessionmaker[Session], job_id: int) -> _Plan:
    with transaction(sessions) as session:
        job = store.load_job(session, job_id=job_id)
        user_id = store.job_owner(job) if job is not None else None
        user = store.get_user(session, user_id=user_id) if user_id is not None else None
        if user is None:
            raise JobError("The account of this export no longer exists.")
        memberships = store.list_memberships(session, user_id=user.id)
        meetings = store.list_meetings_organised_by(
            session, user_id=user.id, workspace_ids=[m.workspace.id for m in memberships]
        )
        plan = [
            _Planned(
                meeting.id,
                meeting.title,
                meeting_audio(meeting.id, store.list_recordings(session, meeting_id=meeting.id)),
            )
            for meeting in meetings
        ]
        account = _account_document(session, user, memberships)
        account["tasks"] = [
            _task_document(task)
            for task in store.list_personal_tasks(
                session, user_id=user.id, meeting_ids=[m.id for m in meetings]
            )
        ]
        account["comments"] = [
            _comment_document(comment)
            for comment in store.list_user_comments(session, user_id=user.id)
        ]
        return _Plan(user.id, account, plan)


def _task_document(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status.value,
        "assignee": task.assignee,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "meeting_id": task.meeting_id,
        "start_ms": task.start_ms,
        "source": task.source.value,
        "created_at": iso_datetime(task.created_at),
        "done_at": iso_datetime(task.done_at),
    }


def _comment_document(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "meeting_id": comment.meeting_id,
        "segment_id": comment.segment_id,
        "body": comment.body,
        "created_at": iso_datetime(comment.created_at),
        "edited_at": iso_datetime(comment.edited_at),
    }


def _account_document(
    session: Session, user: User, memberships: list[store.WorkspaceMembership]
) -> dict[str, Any]:
    tokens = store.list_api_tokens(session, user=user)
    return {
        "exported_at": iso_datetime(utcnow()),
        "mina_version": __version__,
        "user": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "created_at": iso_datetime(user.created_at),
            "last_login_at": iso_datetime(user.last_login_at),
        },
        "workspaces": [
            {
                "id": m.workspace.id,
                "name": m.workspace.name,
                "slug": m.workspace.slug,
                "role": m.role.value,
                "owner": m.workspace.owner_id == user.id,
                "created_at": iso_datetime(m.workspace.created_at),
            }
            for m in memberships
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": iso_datetime(t.created_at),
                "last_used_at": iso_datetime(t.last_used_at),
            }
            for t in tokens
        ],
    }


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.external_attr = 0o644 << 16
    return info


def _folder_name(meeting_id: int, title: str) -> str:
    return f"meetings/{meeting_id} {exporters.export_filename(title, 'x')[:-2]}/"


def _write_archive(context: JobContext, path: Path, plan: _Plan, progress: _Progress) -> int:
    """Write the zip at ``path``; returns how many meetings it holds."""
    listed: list[dict[str, Any]] = []
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        archive.writestr(_member("README.txt"), README, compress_type=zipfile.ZIP_DEFLATED)
        for item in plan.meetings:
            written = _write_meeting(context, archive, plan.user_id, item, progress)
            if written is not None:
                listed.append(written)
        document = {**plan.account, "meetings": listed}
        archive.writestr(
            _member("account.json"),
            json.dumps(document, ensure_ascii=False, indent=2) + "\n",
            compress_type=zipfile.ZIP_DEFLATED,
        )
    progress.write()
    return len(listed)


def _write_meeting(
    context: JobContext,
    archive: zipfile.ZipFile,
    user_id: int,
    item: _Planned,
    progress: _Progress,
) -> dict[str, Any] | None:
    """One meeting's JSON and audio; None when it was deleted (or given away) meanwhile."""
    with transaction(context.sessions) as session:
        meeting = store.get_meeting_unscoped(session, meeting_id=item.meeting_id)
        if meeting is None or meeting.organizer_id != user_id:
            progress.advance(item.cost)
            return None
        export = exporters.load_export(session, meeting=meeting)
    folder = _folder_name(item.meeting_id, export.title)
    archive.writestr(
        _member(folder + "meeting.json"),
        exporters.render_export(export, "json"),
        compress_type=zipfile.ZIP_DEFLATED,
    )
    progress.advance(MEETING_COST)
    entry: dict[str, Any] = {
        "id": item.meeting_id,
        "title": export.title,
        "json": folder + "meeting.json",
        "audio": None,
    }
    audio = item.audio
    if audio is not None and all(p.exists() for p, _ in audio.files):
        large = audio.wav_size >= ZIP64_FROM
        with archive.open(_member(folder + "audio.wav"), "w", force_zip64=large) as out:
            for chunk in read_wav(audio):
                out.write(chunk)
                progress.advance(len(chunk))
        entry["audio"] = folder + "audio.wav"
    elif audio is not None:
        progress.advance(audio.wav_size)
    return entry


# --- housekeeping ---------------------------------------------------------------------------


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_user_exports(export_dir: Path, *, user_id: int) -> None:
    """Every archive of this user (their account is deleted)."""
    _remove(export_dir / str(user_id))


def remove_expired_exports(sessions: sessionmaker[Session], export_dir: Path) -> int:
    """Delete archives older than ``KEEP_S`` (and folders of deleted accounts), and the rows
    of export jobs that ended that long ago; returns how many files went. Blocking."""
    cutoff = time.time() - KEEP_S
    removed = 0
    with transaction(sessions) as session:
        store.delete_finished_jobs(
            session, name=JOB_NAME, before=utcnow() - timedelta(seconds=KEEP_S)
        )
        folders = list(export_dir.iterdir()) if export_dir.is_dir() else []
        for folder in folders:
            owner = int(folder.name) if folder.name.isdigit() else None
            if owner is None or store.get_user(session, user_id=owner) is None:
                _remove(folder)
                removed += 1
                continue
            for path in folder.iterdir():
                try:
                    expired = path.stat().st_mtime < cutoff
                except FileNotFoundError:
                    continue
                if expired:
                    _remove(path)
                    removed += 1
    if removed:
        logger.info("removed %d expired data exports", removed)
    return removed
