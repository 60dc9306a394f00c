"""Meetings: one by id, counts and the dashboard's lists, edits, deletion and statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mina.models import (
    Job,
    JobStatus,
    Meeting,
    MeetingInsights,
    MeetingStatus,
    Passage,
    RecordingSession,
    Segment,
    utcnow,
)
from mina.store._common import _audio_ms, _possible_id
from mina.store.passages import bump_search_version


def count_meetings(session: Session, *, workspace_id: int, since: datetime | None = None) -> int:
    query = select(func.count(Meeting.id)).where(Meeting.workspace_id == workspace_id)
    if since is not None:
        query = query.where(Meeting.created_at >= since)
    return session.scalar(query) or 0


def list_recent_meetings(session: Session, *, workspace_id: int, limit: int = 5) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.workspace_id == workspace_id)
            .order_by(Meeting.created_at.desc(), Meeting.id.desc())
            .limit(limit)
        )
    )


def get_meeting(session: Session, *, workspace_id: int, meeting_id: int) -> Meeting | None:
    """A meeting of this workspace; another workspace's meeting is None, like a missing one."""
    if not _possible_id(meeting_id):
        return None
    return session.scalar(
        select(Meeting).where(Meeting.id == meeting_id, Meeting.workspace_id == workspace_id)
    )


def get_meeting_unscoped(session: Session, *, meeting_id: int) -> Meeting | None:
    """Any workspace's meeting. Only for operator commands (``mina export``), which act with the
    database's own authority; request handlers use ``get_meeting``."""
    if not _possible_id(meeting_id):
        return None
    return session.get(Meeting, meeting_id)


def update_meeting(
    session: Session, *, meeting: Meeting, title: str | None = None, description: str | None = None
) -> Meeting:
    if title is not None:
        meeting.title = title.strip() or meeting.title
    if description is not None:
        meeting.description = description
    meeting.updated_at = utcnow()
    return meeting


# Lock order on PostgreSQL: a meeting's row before any other row of the meeting. A deletion
# removes the segments, then the meeting, whose jobs, passages, insights and tasks go by ON
# DELETE CASCADE; a post-meeting job's write transaction updated its own jobs row (progress),
# then wrote the meeting's segments, tasks or passages. Run at the same moment, the deletion
# held the deleted segments and waited (in its cascade) for the job's row, which the job held
# while it waited for those segments: PostgreSQL aborted one of the two (the DELETE answered
# 500, or the job failed). So both take the meeting row first, with ``lock_meeting``, and one
# waits for the other; a job that waited for a deletion finds no meeting and ends. FOR NO KEY
# UPDATE: an insert that only references the meeting (FOR KEY SHARE: a comment, an edit that
# queues a job) is not held up, as before. SQLite serialises writers.


def lock_meeting(session: Session, *, meeting_id: int) -> Meeting | None:
    """The meeting, its row locked until the transaction ends; None when it is gone (a
    deletion that held the lock has committed). Taken first by every transaction that deletes
    a meeting or writes several of its rows (see the lock order above)."""
    if session.get_bind().dialect.name == "sqlite":
        # reads run outside a transaction there: a write starts it and takes the database's
        # write lock, so the meeting read next cannot be deleted before this one commits
        session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id)
            .values(id=Meeting.id, updated_at=Meeting.updated_at)
            .execution_options(synchronize_session=False)
        )
    return session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def delete_meeting(session: Session, *, meeting: Meeting) -> list[Path]:
    """Delete a meeting with its sessions and segments; returns its audio files to remove
    (none when another deletion got there first)."""
    if lock_meeting(session, meeting_id=meeting.id) is None:  # first: see the lock order
        return []
    paths = [
        Path(p)
        for p in session.scalars(
            select(RecordingSession.audio_path).where(RecordingSession.meeting_id == meeting.id)
        )
        if p
    ]
    session.execute(delete(Segment).where(Segment.meeting_id == meeting.id))
    session.execute(delete(RecordingSession).where(RecordingSession.meeting_id == meeting.id))
    session.delete(meeting)
    bump_search_version(session, workspace_id=meeting.workspace_id)  # its passages go with it
    return paths


# Ids per DELETE ... WHERE id IN (...): well inside every driver's limit on bound parameters.
DELETE_BATCH = 500


def delete_meetings(session: Session, *, meeting_ids: list[int]) -> dict[int, list[Path]]:
    """Delete these meetings with their sessions and segments (their jobs and talk time go with
    them by their foreign keys); returns each deleted meeting's audio files to remove."""
    paths: dict[int, list[Path]] = {}
    for start in range(0, len(meeting_ids), DELETE_BATCH):
        batch = meeting_ids[start : start + DELETE_BATCH]
        # the meeting rows first, in id order (see the lock order above)
        batch = list(
            session.scalars(
                select(Meeting.id)
                .where(Meeting.id.in_(batch))
                .order_by(Meeting.id)
                .with_for_update(key_share=True)
            )
        )
        for meeting_id in batch:
            paths[meeting_id] = []
        rows = session.execute(
            select(RecordingSession.meeting_id, RecordingSession.audio_path).where(
                RecordingSession.meeting_id.in_(batch)
            )
        )
        for meeting_id, audio_path in rows:
            if audio_path:
                paths[meeting_id].append(Path(audio_path))
        session.execute(delete(Segment).where(Segment.meeting_id.in_(batch)))
        session.execute(delete(RecordingSession).where(RecordingSession.meeting_id.in_(batch)))
        workspaces = set(
            session.scalars(select(Meeting.workspace_id).where(Meeting.id.in_(batch)).distinct())
        )
        session.execute(delete(Meeting).where(Meeting.id.in_(batch)))
        for workspace_id in workspaces:  # their passages go with them
            bump_search_version(session, workspace_id=workspace_id)
    return paths


def meeting_age_clock() -> ColumnElement[datetime]:
    """When a meeting counts from for retention: its end, else when it was scheduled for, else
    when it was created."""
    return func.coalesce(Meeting.actual_end, Meeting.scheduled_start, Meeting.created_at)


def list_expired_meetings(
    session: Session, *, before: datetime, limit: int | None = None
) -> list[int]:
    """Ids of the meetings, in every workspace, that ended (or, never held, were scheduled or
    created) before ``before``; never one being recorded or processed. Locked on PostgreSQL
    until the transaction ends, so a recording cannot start in one meanwhile."""
    return list(
        session.scalars(
            select(Meeting.id)
            .where(
                Meeting.status.not_in([MeetingStatus.LIVE, MeetingStatus.PROCESSING]),
                meeting_age_clock() < before,
            )
            .order_by(Meeting.id)
            .limit(limit)
            .with_for_update(key_share=True)  # as ``lock_meeting``
        )
    )


def list_meetings_organised_by(
    session: Session, *, user_id: int, workspace_ids: list[int]
) -> list[Meeting]:
    """The meetings this user organised in these workspaces, oldest first."""
    if not workspace_ids:
        return []
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.organizer_id == user_id, Meeting.workspace_id.in_(workspace_ids))
            .order_by(Meeting.created_at, Meeting.id)
        )
    )


@dataclass(frozen=True)
class MeetingStats:
    segment_count: int
    word_count: int
    average_confidence: float | None
    audio_ms: int = 0
    # the state of the latest ``diarize`` job: pending, running, done, failed; off without one
    speakers: str = "off"
    # the same for the latest ``insights`` job
    insights: str = "off"
    # and for the latest ``embed`` job (semantic search)
    embeddings: str = "off"


def meeting_duration_ms(meeting: Meeting, stats: MeetingStats) -> int | None:
    """How long a meeting lasted: its recorded audio once it ended, wall time while live."""
    if meeting.status is not MeetingStatus.LIVE and stats.audio_ms > 0:
        return stats.audio_ms
    return meeting.duration_ms


def meeting_stats(session: Session, *, meeting_ids: list[int]) -> dict[int, MeetingStats]:
    """Segment and word counts per meeting, from the session totals (one query)."""
    if not meeting_ids:
        return {}
    rows = session.execute(
        select(
            RecordingSession.meeting_id,
            func.sum(RecordingSession.total_segments),
            func.sum(RecordingSession.total_words),
            func.avg(RecordingSession.average_confidence),
            func.sum(_audio_ms()),
        )
        .where(RecordingSession.meeting_id.in_(meeting_ids))
        .group_by(RecordingSession.meeting_id)
    )
    states: dict[tuple[int | None, str], JobStatus] = {}
    for meeting_id, name, status in session.execute(
        select(Job.meeting_id, Job.name, Job.status)
        .where(Job.meeting_id.in_(meeting_ids), Job.name.in_(_ANALYSIS_JOBS))
        .order_by(Job.id)
    ):
        states[meeting_id, name] = status  # the latest job's state wins

    def state(meeting_id: int, name: str) -> str:
        return analysis_state(states.get((meeting_id, name)))

    stats = {
        meeting_id: MeetingStats(
            int(segments or 0),
            int(words or 0),
            confidence,
            int(audio_ms or 0),
            state(meeting_id, "diarize"),
            state(meeting_id, "insights"),
            state(meeting_id, "embed"),
        )
        for meeting_id, segments, words, confidence, audio_ms in rows
    }
    return {m: stats.get(m, MeetingStats(0, 0, None)) for m in meeting_ids}


# The jobs whose state a meeting's ``analysis`` shows (DESIGN.md section 8).
_ANALYSIS_JOBS = ("diarize", "insights", "embed")
# A meeting's ``analysis`` states, from the status of the job doing the work.
_ANALYSIS_STATES = {
    JobStatus.QUEUED: "pending",
    JobStatus.RUNNING: "running",
    JobStatus.DONE: "done",
    JobStatus.FAILED: "failed",
}


# --- dashboard ---------------------------------------------------------------------------


def list_live_meetings(session: Session, *, workspace_id: int, limit: int = 20) -> list[Meeting]:
    """Meetings being recorded right now, the latest started first."""
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.workspace_id == workspace_id, Meeting.status == MeetingStatus.LIVE)
            .order_by(Meeting.actual_start.desc(), Meeting.id.desc())
            .limit(limit)
        )
    )


def list_meetings_between(
    session: Session, *, workspace_id: int, start: datetime, end: datetime, limit: int = 50
) -> list[Meeting]:
    """Meetings that started (or, not started yet, were created) in [start, end), in order."""
    started = func.coalesce(Meeting.actual_start, Meeting.created_at)
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.workspace_id == workspace_id,
                or_(
                    and_(Meeting.actual_start >= start, Meeting.actual_start < end),
                    and_(
                        Meeting.actual_start.is_(None),
                        Meeting.created_at >= start,
                        Meeting.created_at < end,
                    ),
                ),
            )
            .order_by(started, Meeting.id)
            .limit(limit)
        )
    )


def total_audio_ms(session: Session, *, workspace_id: int) -> int:
    """Milliseconds of audio recorded in the workspace, every recording together."""
    total = session.scalar(
        select(func.sum(_audio_ms())).where(RecordingSession.workspace_id == workspace_id)
    )
    return int(total or 0)


def meeting_titles(
    session: Session, *, workspace_id: int, meeting_ids: list[int]
) -> dict[int, str]:
    """The titles of these meetings of the workspace, by id."""
    if not meeting_ids:
        return {}
    rows = session.execute(
        select(Meeting.id, Meeting.title).where(
            Meeting.workspace_id == workspace_id, Meeting.id.in_(meeting_ids)
        )
    )
    return {meeting_id: title for meeting_id, title in rows}


def list_completed_meeting_ids(
    session: Session, *, without_insights: bool = False, without_passages: str | None = None
) -> list[int]:
    """Every completed meeting (of every workspace), oldest first; ``without_insights``: only
    those never given insights; ``without_passages`` (a model's name): only those without
    passages embedded with it (never embedded, or with another model)."""
    query = select(Meeting.id).where(Meeting.status == MeetingStatus.COMPLETED)
    if without_insights:
        query = query.where(
            ~select(MeetingInsights.meeting_id)
            .where(MeetingInsights.meeting_id == Meeting.id)
            .exists()
        )
    if without_passages is not None:
        query = query.where(
            ~select(Passage.id)
            .where(Passage.meeting_id == Meeting.id, Passage.model == without_passages)
            .exists()
        )
    return list(session.scalars(query.order_by(Meeting.id)))


def analysis_state(status: JobStatus | None) -> str:
    """A meeting's ``analysis`` state from the status of the job doing the work (None: no job)."""
    return "off" if status is None else _ANALYSIS_STATES[status]
