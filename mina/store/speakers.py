"""Speaker labels written by the diarize job: relabelled segments, segments split where the
speaker changes inside them (the first piece keeps its id, the rest are new rows), and the
order of a recording's segments kept."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mina.models import RecordingSession, Segment, utcnow


@dataclass(frozen=True)
class SegmentView:
    """What labelling reads of a segment; times on its recording's clock, ``offset_ms`` where
    that recording starts in the meeting's audio."""

    id: int
    session_id: int
    seq: int
    text: str
    start_ms: int
    end_ms: int
    words: list[dict[str, Any]]
    speaker: str | None
    edited: bool
    offset_ms: int = 0


@dataclass(frozen=True)
class Part:
    """One speaker's piece of a segment (times on its recording's clock)."""

    text: str
    start_ms: int
    end_ms: int
    words: list[dict[str, Any]]
    speaker: str


@dataclass
class Change:
    """A segment's new speaker, or its pieces when the speaker changes inside it (the first
    piece keeps the segment's id)."""

    segment: SegmentView
    parts: list[Part] = field(default_factory=list)

    @property
    def split(self) -> bool:
        return len(self.parts) > 1


def load_segment_views(session: Session, *, meeting_id: int) -> list[SegmentView]:
    """The meeting's segments as labelling reads them, each with the offset of its recording
    in the meeting's audio (recordings one after another, in the order they started)."""
    recordings = list(
        session.execute(
            select(RecordingSession.id, RecordingSession.audio_bytes, RecordingSession.sample_rate)
            .where(RecordingSession.meeting_id == meeting_id)
            .order_by(RecordingSession.started_at, RecordingSession.id)
        )
    )
    offsets: dict[int, int] = {}
    elapsed = 0
    for recording_id, audio_bytes, rate in recordings:
        offsets[recording_id] = elapsed
        elapsed += (audio_bytes or 0) * 1000 // (2 * (rate or 16000))
    segments = session.scalars(
        select(Segment)
        .join(RecordingSession, RecordingSession.id == Segment.session_id)
        .where(Segment.meeting_id == meeting_id)
        .order_by(RecordingSession.started_at, RecordingSession.id, Segment.seq)
    )
    return [
        SegmentView(
            id=s.id,
            session_id=s.session_id,
            seq=s.seq,
            text=s.text,
            start_ms=s.start_ms,
            end_ms=s.end_ms,
            words=list(s.words or []),
            speaker=s.speaker,
            edited=s.edited_text is not None,
            offset_ms=offsets.get(s.session_id, 0),
        )
        for s in segments
    ]


def apply_speaker_changes(session: Session, *, meeting_id: int, changes: Sequence[Change]) -> int:
    """Write the labels and splits; returns how many segments were added by splitting. A
    segment edited since the plan was made keeps its text and only takes the first label."""
    rows = {
        s.id: s
        for s in session.scalars(
            select(Segment).where(Segment.meeting_id == meeting_id).with_for_update()
        )
    }
    added: dict[int, list[tuple[int, Segment]]] = defaultdict(list)
    now = utcnow()
    for change in changes:
        row = rows.get(change.segment.id)
        if row is None or not change.parts:
            continue
        first = change.parts[0]
        unchanged = row.text == change.segment.text and row.edited_text is None
        if not change.split or not unchanged:
            label = first.speaker if not change.split else _majority_label(change)
            if row.speaker != label:
                row.speaker = label
            continue
        row.text, row.words, row.speaker = first.text, first.words, first.speaker
        row.start_ms, row.end_ms = first.start_ms, first.end_ms
        row.avg_confidence = _confidence(first.words)
        for index, part in enumerate(change.parts[1:], start=1):
            piece = Segment(
                session_id=row.session_id,
                meeting_id=row.meeting_id,
                seq=-(10_000_000 + row.id * 100 + index),
                text=part.text,
                start_ms=part.start_ms,
                end_ms=part.end_ms,
                avg_confidence=_confidence(part.words),
                speaker=part.speaker,
                words=part.words,
                created_at=now,
            )
            added[row.session_id].append((row.seq * 1000 + index, piece))
    session.flush()
    for recording_id, pieces in added.items():
        _insert_in_order(session, recording_id=recording_id, pieces=pieces)
    return sum(len(p) for p in added.values())


def _insert_in_order(
    session: Session, *, recording_id: int, pieces: list[tuple[int, Segment]]
) -> None:
    """New pieces into a recording's sequence, each right after the segment it came from; the
    recording's ``seq`` numbers are rewritten 0..n-1 (through negatives, so the unique
    (session, seq) constraint holds at every row)."""
    existing = list(
        session.execute(select(Segment.id, Segment.seq).where(Segment.session_id == recording_id))
    )
    session.execute(
        update(Segment).where(Segment.session_id == recording_id).values(seq=-(Segment.seq + 1))
    )
    session.add_all(piece for _, piece in pieces)
    session.flush()
    order = sorted(
        [(seq * 1000, segment_id) for segment_id, seq in existing]
        + [(key, piece.id) for key, piece in pieces]
    )
    session.execute(
        update(Segment),
        [{"id": segment_id, "seq": new} for new, (_, segment_id) in enumerate(order)],
    )
    session.execute(
        update(RecordingSession)
        .where(RecordingSession.id == recording_id)
        .values(
            total_segments=select(func.count(Segment.id))
            .where(Segment.session_id == recording_id)
            .scalar_subquery()
        )
    )
    session.expire_all()


def _majority_label(change: Change) -> str:
    time: dict[str, int] = defaultdict(int)
    for part in change.parts:
        time[part.speaker] += max(1, part.end_ms - part.start_ms)
    return max(time, key=lambda s: time[s])


def _confidence(words: Sequence[dict[str, Any]]) -> float | None:
    values = [float(w["probability"]) for w in words if w.get("probability") is not None]
    return sum(values) / len(values) if values else None
