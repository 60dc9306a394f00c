"""Keyword search at the level of transcript segments (``GET /api/search?mode=keyword``, and
the keyword half of hybrid search): the meetings list's full-text matching, ranked by the
engine's relevance instead of grouped by meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import Meeting, Segment
from mina.search import parse_query
from mina.store.meeting_search import _meeting_conditions, _postgresql_matches, _sqlite_matches

MAX_WINDOW = 2000


@dataclass(frozen=True)
class KeywordHit:
    segment_id: int
    meeting_id: int
    start_ms: int
    rank: float


def keyword_segments(
    session: Session,
    *,
    workspace_id: int,
    q: str,
    meeting_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    speaker: str | None = None,
    limit: int = 20,
) -> list[KeywordHit]:
    """The workspace's segments matching ``q`` (every word, phrases in order, the last word as
    a prefix), the most relevant first, within the filters."""
    parsed = parse_query(q)
    if parsed.is_empty:
        return []
    conditions = _meeting_conditions(
        workspace_id=workspace_id, status=None, date_from=date_from, date_to=date_to
    )
    if meeting_id is not None:
        conditions.append(Meeting.id == meeting_id)
    window = min(MAX_WINDOW, max(limit * 10, 100))
    matcher = (
        _sqlite_matches if session.get_bind().dialect.name == "sqlite" else _postgresql_matches
    )
    rows, _ = matcher(session, parsed, conditions, window)
    hits = [KeywordHit(int(r[0]), int(r[1]), int(r[2]), float(r[3] or 0.0)) for r in rows]
    if speaker and speaker.strip():
        wanted = speaker.strip().lower()
        ids = [h.segment_id for h in hits]
        speakers = (
            dict(
                session.execute(
                    select(Segment.id, Segment.speaker).where(Segment.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
        hits = [h for h in hits if (speakers.get(h.segment_id) or "").lower() == wanted]
    hits.sort(key=lambda h: (-h.rank, -h.segment_id))
    return hits[:limit]
