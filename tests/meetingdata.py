"""Meetings with transcripts and real audio, made through the store functions a recording
uses (start, add segments, finish), then placed at a chosen time: for page, API and analytics
tests that need known data without streaming it."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting
from tests.speechdata import get_clip

RATE = 16000


@dataclass(frozen=True)
class Said:
    """One segment: its text, when it starts and ends (ms), who said it."""

    text: str
    start_ms: int
    end_ms: int
    speaker: str | None = None
    confidence: float = 0.9


def speech_pcm(seconds: float) -> bytes:
    """``seconds`` of real speech (the jfk clip, repeated as needed), 16 kHz mono s16le."""
    with wave.open(str(get_clip("jfk").wav), "rb") as source:
        clip = source.readframes(source.getnframes())
    want = 2 * round(seconds * RATE)
    return (clip * (want // len(clip) + 1))[:want]


def principal_of(db: Session, email: str) -> store.Principal:
    user = store.get_user_by_email(db, email=email)
    assert user is not None, email
    return store.get_principal(db, user=user)


def add_meeting(
    db: Session,
    *,
    principal: store.Principal,
    audio_dir: Path,
    title: str,
    started_at: datetime,
    said: list[Said],
    audio_s: float,
    live: bool = False,
) -> Meeting:
    """A recorded meeting that started at ``started_at``, with ``audio_s`` of audio on disk;
    ``live`` leaves its recording open (as while someone records)."""
    started = store.start_recording(
        db,
        principal=principal,
        audio_dir=audio_dir,
        title=title,
        language="en",
        sample_rate=RATE,
        engine="fake",
        model="test",
    )
    pcm = speech_pcm(audio_s)
    path = Path(started.recording.audio_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pcm)
    store.add_segments(
        db,
        recording_id=started.recording.id,
        meeting_id=started.meeting.id,
        segments=[
            store.NewSegment(
                seq=i,
                text=s.text,
                start_ms=s.start_ms,
                end_ms=s.end_ms,
                confidence=s.confidence,
                words=[],
                speaker=s.speaker,
            )
            for i, s in enumerate(said)
        ],
    )
    meeting, recording = started.meeting, started.recording
    if live:
        store.touch_recording(db, recording_id=recording.id, audio_bytes=len(pcm))
    else:
        store.finish_recording(db, recording_id=recording.id, audio_bytes=len(pcm))
        meeting.actual_end = started_at + timedelta(seconds=audio_s)
    meeting.actual_start = meeting.created_at = recording.started_at = started_at
    db.commit()
    return meeting
