"""Recording sessions (start, heartbeat, finish, claims for crash recovery) and their segments:
inserted live or bulk-loaded (demo data), and read back in spoken order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, literal_column, or_, select, text, update
from sqlalchemy.orm import Session

from mina import security
from mina.audiostore import session_audio_path
from mina.models import (
    Job,
    JobStatus,
    Meeting,
    MeetingStatus,
    RecordingSession,
    Segment,
    SessionStatus,
    utcnow,
)
from mina.store._common import StoreError
from mina.store.accounts import Principal
from mina.store.meetings import get_meeting, lock_meeting
from mina.store.webhooks import record_meeting_event


@dataclass(frozen=True)
class StartedRecording:
    meeting: Meeting
    recording: RecordingSession
    resume_token: str


def start_recording(
    session: Session,
    *,
    principal: Principal,
    audio_dir: Path,
    title: str | None,
    language: str,
    sample_rate: int,
    engine: str,
    model: str,
    meeting_id: int | None = None,
    expected_speakers: int | None = None,
) -> StartedRecording:
    """Create (or take a scheduled) meeting and its recording session in one transaction.

    The meeting is ``live`` from this instant, so the dashboard shows it at once; its
    ``meeting.started`` webhooks are queued in the same transaction.
    ``expected_speakers``: how many people the person recording says will speak (a hint).
    """
    now = utcnow()
    if meeting_id is not None:
        meeting = get_meeting(session, workspace_id=principal.workspace.id, meeting_id=meeting_id)
        if meeting is None:
            raise StoreError("meeting_not_found", "Meeting not found.")
        if meeting.status not in (MeetingStatus.SCHEDULED,):
            raise StoreError("meeting_not_recordable", "Only a scheduled meeting can be started.")
    else:
        meeting = Meeting(
            workspace_id=principal.workspace.id,
            organizer_id=principal.user.id,
            title=(title or "").strip()[:300] or f"Meeting {now:%d %b %Y %H:%M}",
            language=language,
        )
        session.add(meeting)
    meeting.status = MeetingStatus.LIVE
    if expected_speakers is not None:
        meeting.expected_speakers = expected_speakers
    meeting.actual_start = meeting.actual_start or now
    meeting.actual_end = None
    session.flush()
    token = security.new_resume_token()
    recording = _new_recording(
        meeting=meeting,
        principal=principal,
        audio_dir=audio_dir,
        sample_rate=sample_rate,
        engine=engine,
        model=model,
        resume_token_hash=security.hash_token(token),
    )
    session.add(recording)
    session.flush()
    record_meeting_event(session, meeting=meeting, event="meeting.started")
    return StartedRecording(meeting=meeting, recording=recording, resume_token=token)


def _new_recording(
    *,
    meeting: Meeting,
    principal: Principal,
    audio_dir: Path,
    sample_rate: int,
    engine: str,
    model: str,
    resume_token_hash: str = "",
) -> RecordingSession:
    """An active recording session of a (flushed) meeting, its audio file in the audio store."""
    now = utcnow()
    external_id = str(uuid.uuid4())
    return RecordingSession(
        external_id=external_id,
        meeting_id=meeting.id,
        user_id=principal.user.id,
        workspace_id=principal.workspace.id,
        status=SessionStatus.ACTIVE,
        started_at=now,
        last_heartbeat=now,
        sample_rate=sample_rate,
        audio_path=str(session_audio_path(audio_dir, principal.workspace.id, external_id)),
        engine=engine,
        model=model,
        resume_token_hash=resume_token_hash,
    )


def get_recording(session: Session, *, external_id: str) -> RecordingSession | None:
    return session.scalar(
        select(RecordingSession).where(RecordingSession.external_id == external_id)
    )


@dataclass(frozen=True)
class NewSegment:
    seq: int
    text: str
    start_ms: int
    end_ms: int
    confidence: float | None
    words: list[dict[str, Any]] = field(default_factory=list)
    speaker: str | None = None


def add_segments(
    session: Session, *, recording_id: int, meeting_id: int, segments: list[NewSegment]
) -> list[Segment]:
    """Insert final segments (a batch commits together) with one ``INSERT ... RETURNING``.

    A live recording calls this once per utterance, so it skips the ORM's unit of work (a
    third of the CPU of the transaction). The rows returned are detached: read them, do not
    change them."""
    if not segments:
        return []
    now = utcnow()
    values = [
        {
            "session_id": recording_id,
            "meeting_id": meeting_id,
            "seq": s.seq,
            "text": s.text,
            "start_ms": s.start_ms,
            "end_ms": s.end_ms,
            "avg_confidence": s.confidence,
            "speaker": s.speaker,
            "words": s.words,
            "created_at": now,
        }
        for s in segments
    ]
    ids = session.scalars(_INSERT_SEGMENTS, values).all()
    return [
        Segment(id=id_, edited_text=None, edited_at=None, **row)
        for id_, row in zip(ids, values, strict=True)
    ]


_SEGMENTS = Segment.metadata.tables[Segment.__tablename__]
_INSERT_SEGMENTS = insert(_SEGMENTS).returning(_SEGMENTS.c.id, sort_by_parameter_order=True)


@dataclass(frozen=True)
class BulkMeeting:
    """A finished meeting with its transcript, for bulk loading (demo data)."""

    title: str
    status: MeetingStatus
    start: datetime
    end: datetime | None
    segments: list[NewSegment]


_SEGMENT_COLUMNS = (
    "session_id",
    "meeting_id",
    "seq",
    "text",
    "start_ms",
    "end_ms",
    "avg_confidence",
    "speaker",
    "words",
    "created_at",
)


def bulk_add_meetings(
    session: Session, *, workspace_id: int, organizer_id: int, meetings: list[BulkMeeting]
) -> int:
    """Insert meetings, one recording each and their segments, in a few statements (COPY on
    PostgreSQL); returns the number of segments. The full-text index follows by itself."""
    if not meetings:
        return 0
    meeting_ids = list(
        session.scalars(
            insert(Meeting).returning(Meeting.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": workspace_id,
                    "organizer_id": organizer_id,
                    "title": m.title,
                    "status": m.status,
                    "actual_start": m.start if m.end is not None else None,
                    "scheduled_start": m.start,
                    "actual_end": m.end,
                    "created_at": m.start,
                    "updated_at": m.end or m.start,
                }
                for m in meetings
            ],
        )
    )
    recorded = [(m, i) for m, i in zip(meetings, meeting_ids, strict=True) if m.end is not None]
    if not recorded:
        return 0
    session_ids = list(
        session.scalars(
            insert(RecordingSession).returning(RecordingSession.id, sort_by_parameter_order=True),
            [
                {
                    "external_id": str(uuid.uuid4()),
                    "meeting_id": meeting_id,
                    "user_id": organizer_id,
                    "workspace_id": workspace_id,
                    "status": SessionStatus.COMPLETED,
                    "started_at": m.start,
                    "completed_at": m.end,
                    "last_heartbeat": m.end,
                    "sample_rate": 16000,
                    "audio_path": "",
                    "audio_bytes": int((m.end - m.start).total_seconds() * 32000) if m.end else 0,
                    "engine": "demo",
                    "model": "demo",
                    "total_segments": len(m.segments),
                    "total_words": sum(len(s.text.split()) for s in m.segments),
                    "average_confidence": (
                        sum(s.confidence or 0 for s in m.segments) / len(m.segments)
                        if m.segments
                        else None
                    ),
                }
                for m, meeting_id in recorded
            ],
        )
    )
    rows = [
        (
            session_id,
            meeting_id,
            s.seq,
            s.text,
            s.start_ms,
            s.end_ms,
            s.confidence,
            s.speaker,
            s.words,
            m.start + timedelta(milliseconds=s.end_ms),
        )
        for (m, meeting_id), session_id in zip(recorded, session_ids, strict=True)
        for s in m.segments
    ]
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        _copy_segments(session, rows)
    else:
        session.execute(
            insert(Segment), [dict(zip(_SEGMENT_COLUMNS, r, strict=True)) for r in rows]
        )
    return len(rows)


def refresh_search_statistics(session: Session) -> None:
    """After a bulk load: planner statistics, and PostgreSQL's GIN pending lists merged (a
    search reads them linearly until autovacuum would)."""
    if session.get_bind().dialect.name == "postgresql":
        for name in ("meetings", "sessions", "segments", "segment_search", "meeting_speakers"):
            session.execute(text(f"ANALYZE {name}"))
        for index in ("ix_segment_search_vector", "ix_meetings_search"):
            session.execute(
                select(func.gin_clean_pending_list(literal_column(f"'{index}'::regclass")))
            )
    else:
        session.execute(text("ANALYZE"))


def _copy_segments(session: Session, rows: list[tuple[Any, ...]]) -> None:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY segments ({', '.join(_SEGMENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row[:8], json.dumps(row[8]), row[9]))


def touch_recording(session: Session, *, recording_id: int, audio_bytes: int) -> bool:
    """Heartbeat: the recording is alive and this much audio is durable. False if it ended."""
    result = session.execute(
        _TOUCH_RECORDING,
        {"recording_id": recording_id, "now": utcnow(), "audio_bytes": audio_bytes},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# a Core statement built once: the heartbeat runs every few seconds for every live recording
_RECORDINGS = RecordingSession.metadata.tables[RecordingSession.__tablename__]
_TOUCH_RECORDING = (
    update(_RECORDINGS)
    .where(
        _RECORDINGS.c.id == bindparam("recording_id"),
        _RECORDINGS.c.status == SessionStatus.ACTIVE,
    )
    .values(last_heartbeat=bindparam("now"), audio_bytes=bindparam("audio_bytes"))
)


def recording_progress(session: Session, *, recording_id: int) -> tuple[int, int]:
    """(next segment seq, end of the last segment in ms) of a recording."""
    row = session.execute(
        select(func.max(Segment.seq), func.max(Segment.end_ms)).where(
            Segment.session_id == recording_id
        )
    ).one()
    last_seq, last_end = row
    return (0 if last_seq is None else last_seq + 1), int(last_end or 0)


def finish_recording(
    session: Session,
    *,
    recording_id: int,
    audio_bytes: int,
    status: SessionStatus = SessionStatus.COMPLETED,
    recovered: bool = False,
    after: Sequence[str] = (),
) -> RecordingSession:
    """Close a recording with its statistics; complete the meeting unless another one is live
    (queuing its ``meeting.completed`` webhooks in this transaction).
    ``after``: the jobs to queue, in this transaction, when the meeting completes with audio
    (the post-meeting work: ``diarize``, ``insights``)."""
    found = session.get(RecordingSession, recording_id)
    if found is not None:  # the meeting row before the recording's (see store.lock_meeting)
        lock_meeting(session, meeting_id=found.meeting_id)
    recording = session.get(
        RecordingSession, recording_id, with_for_update=True, populate_existing=True
    )
    if recording is None:
        raise StoreError("session_not_found", "Recording session not found.")
    now = utcnow()
    texts = list(session.scalars(select(Segment.text).where(Segment.session_id == recording_id)))
    confidence = session.scalar(
        select(func.avg(Segment.avg_confidence)).where(Segment.session_id == recording_id)
    )
    recording.status = status
    recording.recovered = recovered
    recording.completed_at = now
    recording.audio_bytes = audio_bytes
    recording.total_segments = len(texts)
    recording.total_words = sum(len(text.split()) for text in texts)
    recording.average_confidence = float(confidence) if confidence is not None else None
    meeting = session.get(Meeting, recording.meeting_id)
    assert meeting is not None
    others_live = session.scalar(
        select(func.count(RecordingSession.id)).where(
            RecordingSession.meeting_id == meeting.id,
            RecordingSession.id != recording.id,
            RecordingSession.status == SessionStatus.ACTIVE,
        )
    )
    if not others_live:
        audio_ms = audio_bytes * 1000 // (2 * recording.sample_rate)
        end = now
        if recovered:
            # the process died: the meeting ended when its audio did, not when we noticed
            end = min(now, recording.started_at + timedelta(milliseconds=audio_ms))
        meeting.status = MeetingStatus.COMPLETED
        meeting.actual_end = end
        meeting.updated_at = now
        record_meeting_event(session, meeting=meeting, event="meeting.completed")
        if after and meeting_has_audio(session, meeting_id=meeting.id):
            from mina.store.jobs import queue_meeting_job  # jobs builds on recordings

            for name in after:
                if name == "insights" and not meeting.ai_insights_enabled:
                    continue
                queue_meeting_job(session, meeting=meeting, name=name)
    return recording


def meeting_has_audio(session: Session, *, meeting_id: int) -> bool:
    """Whether any recording of the meeting holds audio."""
    total = session.scalar(
        select(func.sum(RecordingSession.audio_bytes)).where(
            RecordingSession.meeting_id == meeting_id
        )
    )
    return bool(total)


def claim_stale_recordings(
    session: Session, *, stale_before: datetime, held: Collection[str] = ()
) -> list[RecordingSession]:
    """Active recordings whose process stopped beating, and interrupted ones never recovered.

    Each is claimed atomically (status moved to ``interrupted`` only if still stale), so two
    processes never recover the same recording and a resumed stream wins over recovery.
    ``held`` names recordings (external ids) the calling process itself is recording: alive
    whatever their heartbeat says, they are never claimed.
    """
    # a recording with an unfinished job (an upload being transcribed) is the job's business
    with_job = (
        select(Job.id)
        .where(
            Job.meeting_id == RecordingSession.meeting_id,
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .exists()
    )
    candidates = list(
        session.scalars(
            select(RecordingSession).where(
                ~with_job,
                or_(
                    RecordingSession.status == SessionStatus.ACTIVE,
                    (RecordingSession.status == SessionStatus.INTERRUPTED)
                    & RecordingSession.recovered.is_(False),
                ),
                RecordingSession.last_heartbeat < stale_before,
                RecordingSession.external_id.not_in(list(held)),
            )
        )
    )
    claimed = []
    for recording in candidates:
        result = session.execute(
            update(RecordingSession)
            .where(
                RecordingSession.id == recording.id,
                RecordingSession.last_heartbeat < stale_before,
                RecordingSession.status.in_([SessionStatus.ACTIVE, SessionStatus.INTERRUPTED]),
                RecordingSession.recovered.is_(False),
            )
            .values(status=SessionStatus.INTERRUPTED, last_heartbeat=utcnow())
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(recording)
    return claimed


def list_transcript(session: Session, *, meeting_id: int) -> list[Segment]:
    """The meeting's segments in spoken order (recordings in the order they started)."""
    return list(
        session.scalars(
            select(Segment)
            .join(RecordingSession, RecordingSession.id == Segment.session_id)
            .where(Segment.meeting_id == meeting_id)
            .order_by(RecordingSession.started_at, RecordingSession.id, Segment.seq)
        )
    )


def list_recordings(session: Session, *, meeting_id: int) -> list[RecordingSession]:
    return list(
        session.scalars(
            select(RecordingSession)
            .where(RecordingSession.meeting_id == meeting_id)
            .order_by(RecordingSession.started_at, RecordingSession.id)
        )
    )


def list_recording_segments(
    session: Session, *, recording_id: int, last: int | None = None
) -> list[Segment]:
    """A recording's segments in order; only the ``last`` few when given."""
    query = select(Segment).where(Segment.session_id == recording_id)
    if last is None:
        return list(session.scalars(query.order_by(Segment.seq)))
    rows = list(session.scalars(query.order_by(Segment.seq.desc()).limit(last)))
    return rows[::-1]
