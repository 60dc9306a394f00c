"""Search across meetings: by keyword (full text), by meaning (the vector index), or both
fused by reciprocal rank (hybrid, the default). Results are segments, cited at their moment;
a passage that joins several lines of one speaker is shown whole."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import Meeting, Segment
from mina.semantic.index import VectorIndex
from mina.semantic.model import load_encoder
from mina.store.passages import passages_by_id
from mina.store.segment_search import keyword_segments

RRF_K = 60  # the usual constant of reciprocal rank fusion
CANDIDATES = 50  # per side, before fusion


class Mode(enum.StrEnum):
    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


@dataclass(frozen=True)
class Filters:
    meeting_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    speaker: str | None = None

    def window(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.date_from, time.min, UTC) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time.min, UTC)
            if self.date_to
            else None
        )
        return start, end


@dataclass
class Hit:
    meeting_id: int
    segment_id: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    score: float
    meeting_title: str = ""
    matched: list[str] = field(default_factory=list)  # "keyword", "meaning"
    similarity: float | None = None
    # the passage's vector from the index (found by meaning): Ask needs not embed it again
    vector: npt.NDArray[np.float32] | None = field(default=None, repr=False)


def by_meaning(
    session: Session,
    index: VectorIndex,
    *,
    workspace_id: int,
    q: str,
    filters: Filters,
    limit: int,
    vector: npt.NDArray[np.float32] | None = None,
) -> list[Hit]:
    """The passages nearest the query's meaning (at least the model's ``min_similarity``), one
    per segment (``vector``: the query's, when the caller has embedded it)."""
    if vector is None:
        vector = embed_query(index, q)
    start, end = filters.window()
    found = index.search(
        session,
        workspace_id=workspace_id,
        query=vector,
        k=limit * 2,
        meeting_id=filters.meeting_id,
        date_from=start,
        date_to=end,
        speaker=filters.speaker,
    )
    found = [f for f in found if f.score >= index.model.min_similarity]
    rows = passages_by_id(session, workspace_id=workspace_id, ids=[f.passage_id for f in found])
    hits: dict[int, Hit] = {}
    for f in found:
        p = rows.get(f.passage_id)
        if p is None or _overlaps(p.meeting_id, p.start_ms, p.end_ms, hits.values()):
            continue  # deleted since the index loaded, or the same stretch as a better one
        hits[p.segment_id] = Hit(
            p.meeting_id,
            p.segment_id,
            p.start_ms,
            p.end_ms,
            p.speaker,
            p.text,
            f.score,
            matched=["meaning"],
            similarity=f.score,
            vector=f.vector,
        )
    return list(hits.values())[:limit]


def embed_query(index: VectorIndex, q: str) -> npt.NDArray[np.float32]:
    """``q`` as a unit vector of the index's model."""
    vector: npt.NDArray[np.float32] = load_encoder(index.model.name).embed([q])[0]
    return vector


def _overlaps(meeting_id: int, start_ms: int, end_ms: int, chosen: Iterable[Hit]) -> bool:
    return any(
        h.meeting_id == meeting_id and start_ms < h.end_ms and h.start_ms < end_ms for h in chosen
    )


def by_keyword(
    session: Session, *, workspace_id: int, q: str, filters: Filters, limit: int
) -> list[Hit]:
    found = keyword_segments(
        session,
        workspace_id=workspace_id,
        q=q,
        meeting_id=filters.meeting_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
        speaker=filters.speaker,
        limit=limit,
    )
    segments = _segments(session, [h.segment_id for h in found])
    hits = []
    for h in found:
        s = segments.get(h.segment_id)
        if s is not None:
            hits.append(
                Hit(
                    s.meeting_id,
                    s.id,
                    s.start_ms,
                    s.end_ms,
                    s.speaker,
                    s.display_text,
                    h.rank,
                    matched=["keyword"],
                )
            )
    return hits


def search(
    session: Session,
    index: VectorIndex,
    *,
    workspace_id: int,
    q: str,
    mode: Mode = Mode.HYBRID,
    filters: Filters | None = None,
    limit: int = 20,
    vector: npt.NDArray[np.float32] | None = None,
) -> list[Hit]:
    """The best ``limit`` hits for ``q`` in the workspace, with their meetings' titles
    (``vector``: ``q`` embedded by ``embed_query``, when the caller has it already)."""
    filters = filters or Filters()
    if not q.strip():
        return []
    if mode is Mode.KEYWORD:
        hits = by_keyword(session, workspace_id=workspace_id, q=q, filters=filters, limit=limit)
    elif mode is Mode.SEMANTIC:
        hits = by_meaning(
            session,
            index,
            workspace_id=workspace_id,
            q=q,
            filters=filters,
            limit=limit,
            vector=vector,
        )
    else:
        # the two halves at once, the keyword one on its own connection: a hybrid search takes
        # about as long as its slower half (at 1M passages on PostgreSQL, p95 150 -> 94 ms)
        with (
            ThreadPoolExecutor(1, thread_name_prefix="keyword-search") as pool,
            Session(session.get_bind()) as keyword_session,
        ):
            words = pool.submit(
                by_keyword,
                keyword_session,
                workspace_id=workspace_id,
                q=q,
                filters=filters,
                limit=CANDIDATES,
            )
            meaning = by_meaning(
                session,
                index,
                workspace_id=workspace_id,
                q=q,
                filters=filters,
                limit=CANDIDATES,
                vector=vector,
            )
            hits = fuse(words.result(), meaning)[:limit]
    titles = dict(
        session.execute(
            select(Meeting.id, Meeting.title).where(Meeting.id.in_({h.meeting_id for h in hits}))
        ).all()
    )
    for h in hits:
        h.meeting_title = titles.get(h.meeting_id, "")
    return [h for h in hits if h.meeting_id in titles]


def fuse(*rankings: list[Hit]) -> list[Hit]:
    """Reciprocal rank fusion: each list adds ``1 / (RRF_K + rank)`` to a segment's score. A
    segment found by meaning keeps its passage's text (it may join several lines)."""
    fused: dict[int, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            share = 1.0 / (RRF_K + rank)
            seen = fused.get(hit.segment_id)
            if seen is None:
                fused[hit.segment_id] = Hit(
                    hit.meeting_id,
                    hit.segment_id,
                    hit.start_ms,
                    hit.end_ms,
                    hit.speaker,
                    hit.text,
                    share,
                    matched=list(hit.matched),
                    similarity=hit.similarity,
                    vector=hit.vector,
                )
                continue
            seen.score += share
            seen.matched = sorted(set(seen.matched) | set(hit.matched))
            if "meaning" in hit.matched:
                seen.text, seen.end_ms, seen.similarity = hit.text, hit.end_ms, hit.similarity
                seen.vector = hit.vector
    return sorted(fused.values(), key=lambda h: -h.score)


def _segments(session: Session, ids: list[int]) -> dict[int, Segment]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Segment).where(Segment.id.in_(ids)))}
