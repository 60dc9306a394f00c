"""Passages and their embeddings: replaced per meeting, read per workspace for the in-memory
index, and the version that tells every process when to reload."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mina.models import Meeting, Passage, SearchVersion, utcnow


@dataclass(frozen=True)
class NewPassage:
    segment_id: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    vector: bytes  # int8, one byte a dimension
    scale: float
    model: str = "minilm"


def search_version(session: Session, *, workspace_id: int) -> int:
    """The workspace's passages' version (0 before any)."""
    return int(
        session.scalar(
            select(SearchVersion.version).where(SearchVersion.workspace_id == workspace_id)
        )
        or 0
    )


def bump_search_version(session: Session, *, workspace_id: int) -> None:
    """Mark the workspace's passages changed (in the transaction that changes them)."""
    changed = session.execute(
        update(SearchVersion)
        .where(SearchVersion.workspace_id == workspace_id)
        .values(version=SearchVersion.version + 1)
    )
    if getattr(changed, "rowcount", 0) == 0:
        session.add(SearchVersion(workspace_id=workspace_id, version=1))
    session.flush()


def replace_passages(session: Session, *, meeting: Meeting, passages: Sequence[NewPassage]) -> None:
    """The meeting's passages are these now (an edit re-embeds the whole meeting)."""
    session.execute(delete(Passage).where(Passage.meeting_id == meeting.id))
    now = utcnow()
    session.add_all(
        Passage(
            workspace_id=meeting.workspace_id,
            meeting_id=meeting.id,
            segment_id=p.segment_id,
            start_ms=p.start_ms,
            end_ms=p.end_ms,
            speaker=p.speaker,
            text=p.text,
            vector=p.vector,
            scale=p.scale,
            model=p.model,
            created_at=now,
        )
        for p in passages
    )
    bump_search_version(session, workspace_id=meeting.workspace_id)


def count_passages(session: Session, *, meeting_id: int) -> int:
    return int(
        session.scalar(select(func.count(Passage.id)).where(Passage.meeting_id == meeting_id)) or 0
    )


def count_workspace_passages(session: Session, *, workspace_id: int, model: str) -> int:
    return int(
        session.scalar(
            select(func.count(Passage.id)).where(
                Passage.workspace_id == workspace_id, Passage.model == model
            )
        )
        or 0
    )


def count_meetings_embedded_otherwise(session: Session, *, model: str) -> int:
    """Meetings (of every workspace) whose passages another model than ``model`` embedded."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Passage.meeting_id))).where(Passage.model != model)
        )
        or 0
    )


def workspace_meeting_ids(session: Session, *, workspace_id: int) -> set[int]:
    """The ids of the workspace's meetings (the index's check for deleted ones)."""
    return set(session.scalars(select(Meeting.id).where(Meeting.workspace_id == workspace_id)))


def stream_workspace_passages(
    session: Session,
    *,
    workspace_id: int,
    model: str,
    after_id: int = 0,
    batch_size: int = 20_000,
) -> Iterator[Sequence[Any]]:
    """Batches of ``(id, meeting_id, segment_id, start_ms, end_ms, speaker, vector, scale,
    meeting start)`` of the workspace's passages embedded with ``model`` with ids past
    ``after_id``, in id order (for the in-memory index; the text stays in the database)."""
    last = after_id
    while True:
        rows = session.execute(
            select(
                Passage.id,
                Passage.meeting_id,
                Passage.segment_id,
                Passage.start_ms,
                Passage.end_ms,
                Passage.speaker,
                Passage.vector,
                Passage.scale,
                Meeting.created_at,
            )
            .join(Meeting, Meeting.id == Passage.meeting_id)
            .where(Passage.workspace_id == workspace_id, Passage.model == model, Passage.id > last)
            .order_by(Passage.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def passages_by_id(
    session: Session, *, workspace_id: int, ids: Sequence[int]
) -> dict[int, Passage]:
    if not ids:
        return {}
    return {
        p.id: p
        for p in session.scalars(
            select(Passage).where(Passage.workspace_id == workspace_id, Passage.id.in_(list(ids)))
        )
    }
