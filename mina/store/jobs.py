"""Uploads and the background jobs that transcribe them: created, claimed, advanced, finished
or failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mina.models import (
    Job,
    JobStatus,
    Meeting,
    MeetingStatus,
    RecordingSession,
    SessionStatus,
    utcnow,
)
from mina.store._common import _possible_id
from mina.store.accounts import Principal
from mina.store.meetings import lock_meeting
from mina.store.recordings import _new_recording, finish_recording, list_recordings


@dataclass(frozen=True)
class CreatedUpload:
    meeting: Meeting
    recording: RecordingSession
    job: Job


def create_upload(
    session: Session,
    *,
    principal: Principal,
    audio_dir: Path,
    title: str,
    language: str,
    expected_speakers: int | None = None,
    engine: str,
    model: str,
    job_name: str,
    payload: dict[str, Any],
) -> CreatedUpload:
    """The meeting (``processing``), its recording session and the job that will transcribe an
    uploaded file, in one transaction: an upload is visible in the lists from this instant."""
    now = utcnow()
    meeting = Meeting(
        workspace_id=principal.workspace.id,
        organizer_id=principal.user.id,
        title=title.strip()[:300] or f"Upload {now:%d %b %Y %H:%M}",
        language=language,
        expected_speakers=expected_speakers,
        status=MeetingStatus.PROCESSING,
        actual_start=now,
    )
    session.add(meeting)
    session.flush()
    recording = _new_recording(
        meeting=meeting,
        principal=principal,
        audio_dir=audio_dir,
        sample_rate=16000,
        engine=engine,
        model=model,
    )
    job = Job(
        workspace_id=principal.workspace.id,
        name=job_name,
        status=JobStatus.QUEUED,
        progress=0.0,
        meeting_id=meeting.id,
        payload=payload,
        created_at=now,
    )
    session.add_all([recording, job])
    session.flush()
    return CreatedUpload(meeting=meeting, recording=recording, job=job)


def create_job(session: Session, *, workspace_id: int, name: str, payload: dict[str, Any]) -> Job:
    """A queued job of this workspace (one that no meeting carries)."""
    job = Job(
        workspace_id=workspace_id,
        name=name,
        status=JobStatus.QUEUED,
        progress=0.0,
        payload=payload,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def list_user_jobs(
    session: Session, *, name: str, user_id: int, unfinished: bool = False
) -> list[Job]:
    """The jobs named ``name`` that this user started for themselves (``payload.user_id``),
    newest first; ``unfinished``: only those queued or running."""
    query = select(Job).where(Job.name == name).order_by(Job.created_at.desc(), Job.id.desc())
    if unfinished:
        query = query.where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    return [job for job in session.scalars(query) if job_owner(job) == user_id]


def delete_finished_jobs(session: Session, *, name: str, before: datetime) -> int:
    """Forget the jobs named ``name`` that ended before ``before``; returns how many."""
    result = session.execute(
        delete(Job).where(
            Job.name == name,
            Job.status.in_([JobStatus.DONE, JobStatus.FAILED]),
            Job.finished_at < before,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def job_owner(job: Job) -> int | None:
    """The user a personal job belongs to (a data export): only they may see it. None for the
    workspace's jobs (uploads), which every member may follow."""
    owner = job.payload.get("user_id") if isinstance(job.payload, dict) else None
    return owner if isinstance(owner, int) else None


def get_job(session: Session, *, workspace_id: int, job_id: int) -> Job | None:
    """A job of this workspace; another workspace's job is None, like a missing one."""
    if not _possible_id(job_id):
        return None
    return session.scalar(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id))


def load_job(session: Session, *, job_id: int) -> Job | None:
    """A job by id, whatever its workspace: for the job runner and job functions only."""
    return session.get(Job, job_id)


def queue_meeting_job_once(session: Session, *, meeting: Meeting, name: str) -> Job:
    """A queued ``name`` job for the meeting: the one already waiting, or a new one."""
    waiting = session.scalar(
        select(Job).where(
            Job.meeting_id == meeting.id, Job.name == name, Job.status == JobStatus.QUEUED
        )
    )
    if waiting is not None:
        return waiting
    return queue_meeting_job(session, meeting=meeting, name=name)


def queue_meeting_job(
    session: Session, *, meeting: Meeting, name: str, payload: dict[str, Any] | None = None
) -> Job:
    """A queued job about this meeting (post-meeting work: labelling speakers); the job runner
    finds it in the table once this transaction commits."""
    job = Job(
        workspace_id=meeting.workspace_id,
        name=name,
        status=JobStatus.QUEUED,
        progress=0.0,
        meeting_id=meeting.id,
        payload=payload or {},
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def latest_meeting_jobs(session: Session, *, meeting_ids: list[int], name: str) -> dict[int, Job]:
    """The latest job named ``name`` of each of these meetings (meetings without one are left
    out): what a meeting's ``analysis`` state is read from."""
    if not meeting_ids:
        return {}
    latest: dict[int, Job] = {}
    for job in session.scalars(
        select(Job).where(Job.meeting_id.in_(meeting_ids), Job.name == name).order_by(Job.id)
    ):
        assert job.meeting_id is not None
        latest[job.meeting_id] = job
    return latest


def list_queued_jobs(session: Session, *, limit: int = 100) -> list[Job]:
    """Jobs waiting to start, oldest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.status == JobStatus.QUEUED)
            .order_by(Job.created_at, Job.id)
            .limit(limit)
        )
    )


def list_unfinished_jobs(session: Session) -> list[Job]:
    """Jobs queued or running (at start-up: those that died with the server), oldest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .order_by(Job.created_at, Job.id)
        )
    )


def claim_job(session: Session, *, job_id: int) -> Job | None:
    """Mark a queued (or interrupted, still ``running``) job running and count the attempt;
    None when it is finished or gone."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, started_at=utcnow())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    job = session.get(Job, job_id, populate_existing=True)
    return job


def _sendable(*, resend_before: datetime, stale_before: datetime) -> ColumnElement[bool]:
    """A job to send to the broker: queued and never sent, or sent before ``resend_before``
    (its message was lost), or running with a heartbeat older than ``stale_before`` (its
    worker died)."""
    return or_(
        and_(
            Job.status == JobStatus.QUEUED,
            or_(Job.sent_at.is_(None), Job.sent_at < resend_before),
        ),
        and_(
            Job.status == JobStatus.RUNNING,
            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before),
            or_(Job.sent_at.is_(None), Job.sent_at < stale_before),
        ),
    )


def list_jobs_to_send(
    session: Session, *, resend_before: datetime, stale_before: datetime, limit: int = 100
) -> list[tuple[int, str]]:
    """(id, name) of the jobs a dispatcher should send to the broker, oldest first."""
    rows = session.execute(
        select(Job.id, Job.name)
        .where(_sendable(resend_before=resend_before, stale_before=stale_before))
        .order_by(Job.created_at, Job.id)
        .limit(limit)
    )
    return [(job_id, name) for job_id, name in rows]


def mark_job_sent(
    session: Session, *, job_id: int, resend_before: datetime, stale_before: datetime
) -> bool:
    """Take the sending of this job (one atomic UPDATE, so that of several web processes one
    sends it); False when another process took it or it no longer needs sending."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, _sendable(resend_before=resend_before, stale_before=stale_before))
        .values(sent_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unmark_job_sent(session: Session, *, job_id: int) -> None:
    """The broker refused the message: the job is to be sent again at the next pass."""
    session.execute(update(Job).where(Job.id == job_id).values(sent_at=None))


def claim_job_delivery(session: Session, *, job_id: int, stale_before: datetime) -> Job | None:
    """A worker's claim of a delivered job: a queued one, or a running one whose worker stopped
    beating before ``stale_before`` (it died). Counts the attempt; None when the job is
    finished, gone, or alive on another worker (the message was a duplicate)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.QUEUED,
                and_(
                    Job.status == JobStatus.RUNNING,
                    or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before),
                ),
            ),
        )
        .values(
            status=JobStatus.RUNNING, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.get(Job, job_id, populate_existing=True)


def beat_job(session: Session, *, job_id: int) -> bool:
    """A running job's worker is alive; False when the job is no longer running."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(heartbeat_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def update_job(
    session: Session, *, job_id: int, progress: float, payload: dict[str, Any] | None = None
) -> bool:
    """Record a running job's progress (0..1) and payload; False if it is no longer running
    (finished elsewhere, or its meeting was deleted)."""
    values: dict[str, Any] = {"progress": min(1.0, max(0.0, progress))}
    if payload is not None:
        values["payload"] = payload
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def requeue_job(session: Session, *, job_id: int) -> None:
    """A job stopped by a server shutdown: queued again, that attempt not counted."""
    # one statement: a job whose meeting is being deleted may vanish at any moment
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.QUEUED,
            attempts=case((Job.attempts > 0, Job.attempts - 1), else_=0),
            sent_at=None,  # with a broker: sent again at once
        )
    )


def finish_job(session: Session, *, job_id: int) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.DONE, progress=1.0, error=None, finished_at=utcnow())
    )


def fail_job(session: Session, *, job_id: int, error: str) -> None:
    """A job that failed for good; its meeting, if still ``processing``, fails with it (and its
    unfinished recordings close), so nothing waits for a job that will not come back."""
    meeting_id = session.scalar(select(Job.meeting_id).where(Job.id == job_id))
    # the meeting row before the job's (see store.lock_meeting); None: deleted meanwhile
    meeting = lock_meeting(session, meeting_id=meeting_id) if meeting_id is not None else None
    now = utcnow()
    failed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.not_in([JobStatus.DONE, JobStatus.FAILED]))
        .values(status=JobStatus.FAILED, error=error[:2000], finished_at=now)
    )
    if not failed.rowcount:  # type: ignore[attr-defined]
        return  # finished, or gone with its meeting
    if meeting is None or meeting.status is not MeetingStatus.PROCESSING:
        return
    for recording in list_recordings(session, meeting_id=meeting.id):
        if recording.status is SessionStatus.ACTIVE:
            finish_recording(session, recording_id=recording.id, audio_bytes=recording.audio_bytes)
    meeting.status = MeetingStatus.FAILED
    meeting.actual_end = now
    meeting.updated_at = now


@dataclass(frozen=True)
class JobCount:
    name: str
    status: JobStatus
    count: int


def count_jobs(session: Session) -> list[JobCount]:
    """How many jobs of each name are in each state (``/metrics``)."""
    rows = session.execute(
        select(Job.name, Job.status, func.count()).group_by(Job.name, Job.status)
    ).all()
    return [JobCount(name=name, status=status, count=count) for name, status, count in rows]
