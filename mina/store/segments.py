"""Corrections to transcript segments, who spoke them, and each meeting's speakers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mina.models import Meeting, MeetingSpeaker, Segment, utcnow
from mina.store._common import StoreError, _possible_id


def get_segment(session: Session, *, workspace_id: int, segment_id: int) -> Segment | None:
    """A segment of one of this workspace's meetings; another workspace's is None."""
    if not _possible_id(segment_id):
        return None
    return session.scalar(
        select(Segment)
        .join(Meeting, Meeting.id == Segment.meeting_id)
        .where(Segment.id == segment_id, Meeting.workspace_id == workspace_id)
    )


def edit_segment_text(session: Session, *, segment: Segment, text: str) -> Segment:
    """Store a correction beside what the engine heard (kept in ``text``); the engine's own
    words again remove the edit."""
    text = " ".join(text.split())
    if not text:
        raise StoreError("empty_text", "A segment needs some text.")
    if text == segment.text:
        segment.edited_text = None
        segment.edited_at = None
    else:
        segment.edited_text = text
        segment.edited_at = utcnow()
    session.flush()
    return segment


def set_segment_speaker(session: Session, *, segment: Segment, speaker: str | None) -> Segment:
    """Label (or, with None or blank, unlabel) who spoke a segment."""
    segment.speaker = (speaker or "").strip()[:100] or None
    session.flush()
    return segment


def rename_speaker(session: Session, *, meeting_id: int, old: str | None, new: str | None) -> int:
    """Relabel every segment of a meeting spoken by ``old`` (None: the unlabelled ones) as
    ``new`` (None or blank: unlabelled); returns how many segments changed."""
    target = (new or "").strip()[:100] or None
    match = Segment.speaker.is_(None) if old is None else Segment.speaker == old
    result = session.execute(
        update(Segment)
        .where(Segment.meeting_id == meeting_id, match)
        .values(speaker=target)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SpeakerTalk:
    """How long one speaker (None: segments without a label) talked, and in how many segments."""

    speaker: str | None
    talk_ms: int
    segments: int


def _speaker_talk(rows: Any) -> list[SpeakerTalk]:
    """Rows of (speaker_key, talk_ms, segments); the key '' stands for unlabelled segments."""
    return [SpeakerTalk(key or None, int(talk or 0), int(count or 0)) for key, talk, count in rows]


def list_meeting_speakers(session: Session, *, meeting_id: int) -> list[SpeakerTalk]:
    """The speakers of a meeting, the most talkative first (from the triggers' summary)."""
    return _speaker_talk(
        session.execute(
            select(MeetingSpeaker.speaker_key, MeetingSpeaker.talk_ms, MeetingSpeaker.segments)
            .where(MeetingSpeaker.meeting_id == meeting_id)
            .order_by(MeetingSpeaker.talk_ms.desc(), MeetingSpeaker.speaker_key)
        )
    )
