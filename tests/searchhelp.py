"""Helpers for the search tests: meetings with known transcripts, made through the store's
recording path (so the full-text triggers see ordinary inserts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, MeetingStatus, User
from tests.conftest import PASSWORD


def make_user(db: Session, email: str) -> store.Principal:
    user = store.create_user(db, email=email, password=PASSWORD, name=email.split("@")[0])
    db.flush()
    return store.get_principal(db, user=user)


def principal_of(db: Session, user: User) -> store.Principal:
    return store.get_principal(db, user=user)


def make_meeting(
    db: Session,
    principal: store.Principal,
    title: str,
    texts: list[str],
    *,
    when: datetime | None = None,
    minutes: float = 10,
    status: MeetingStatus = MeetingStatus.COMPLETED,
    segment_ms: int = 4000,
) -> Meeting:
    """A recorded meeting whose transcript is ``texts``, one segment each, ``segment_ms`` apart;
    it started at ``when`` and lasted ``minutes``."""
    started = store.start_recording(
        db,
        principal=principal,
        audio_dir=Path("/nonexistent"),
        title=title,
        language="en",
        sample_rate=16000,
        engine="fake",
        model="fake",
    )
    meeting = started.meeting
    store.add_segments(
        db,
        recording_id=started.recording.id,
        meeting_id=meeting.id,
        segments=[
            store.NewSegment(
                seq=i,
                text=text,
                start_ms=i * segment_ms,
                end_ms=i * segment_ms + segment_ms - 200,
                confidence=0.9,
                words=[
                    {
                        "text": w,
                        "start_ms": i * segment_ms,
                        "end_ms": i * segment_ms + 100,
                        "probability": 0.9,
                    }
                    for w in text.split()
                ],
            )
            for i, text in enumerate(texts)
        ],
    )
    audio_bytes = int(minutes * 60 * 32000)
    store.finish_recording(db, recording_id=started.recording.id, audio_bytes=audio_bytes)
    when = when or meeting.created_at
    meeting.created_at = when
    meeting.actual_start = when
    meeting.actual_end = when + timedelta(minutes=minutes)
    started.recording.started_at = when
    meeting.status = status
    db.flush()
    return meeting
