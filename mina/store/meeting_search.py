"""The meetings list and its full-text search (FTS5 on SQLite, tsvector on PostgreSQL):
filters, sorts, ranking and highlighted snippets. The query syntax is :mod:`mina.search`'s."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session

from mina.models import Meeting, MeetingStatus, Segment
from mina.search import (
    MARK_END,
    MARK_START,
    SearchQuery,
    highlight,
    parse_query,
    trim_snippet,
)


class MeetingSort(enum.StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    LONGEST = "longest"
    RELEVANCE = "relevance"  # when searching; a list without a query falls back to newest


@dataclass(frozen=True)
class SearchMatch:
    """A passage of a meeting's transcript that matches the query."""

    segment_id: int
    start_ms: int
    snippet: Markup  # escaped HTML, the matched words in <mark>


@dataclass(frozen=True)
class MeetingHit:
    meeting: Meeting
    matches: list[SearchMatch]


@dataclass(frozen=True)
class MeetingResults:
    """A page of meetings. ``total_exact`` is False when a search stopped counting at its
    window (a very common word in a large archive): ``total`` is then a lower bound."""

    items: list[MeetingHit]
    total: int
    total_exact: bool
    page: int
    per_page: int
    searching: bool


# Search ranks and counts the most recent matching passages only, SEARCH_WINDOW of them (grown
# for deeper pages up to SEARCH_WINDOW_MAX), so its cost does not grow with the archive; see
# docs/queries.md for the query plans.
SEARCH_WINDOW = 1000
SEARCH_WINDOW_MAX = 16_000
MATCHES_PER_MEETING = 3
POSTGRESQL_WALK_ROWS = 30_000
SNIPPET_TOKENS = 16
_SEGMENTS_FTS = table("segments_fts", column("rowid", Integer))
_MEETINGS_FTS = table("meetings_fts", column("rowid", Integer))
_SEGMENT_SEARCH = table(
    "segment_search",
    column("segment_id", Integer),
    column("meeting_id", Integer),
    column("start_ms", Integer),
    column("search_vector"),
)
_MEETING_VECTOR: ColumnClause[Any] = literal_column("meetings.search_vector")
_ENGLISH: ColumnClause[Any] = literal_column("'english'::regconfig")
# HighlightAll keeps the passage verbatim (ts_headline's fragments drop text that looks like a
# tag); segments are short, and trim_snippet cuts them to size as FTS5's snippet() does.
_HEADLINE_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"


def _meeting_conditions(
    *,
    workspace_id: int,
    status: MeetingStatus | None,
    date_from: date | None,
    date_to: date | None,
) -> list[ColumnElement[bool]]:
    conditions = [Meeting.workspace_id == workspace_id]
    if status is not None:
        conditions.append(Meeting.status == status)
    if date_from is not None:
        conditions.append(Meeting.created_at >= datetime.combine(date_from, time.min, UTC))
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time.min, UTC)
        conditions.append(Meeting.created_at < end)
    return conditions


def _duration_expression(session: Session) -> ColumnElement[Any]:
    """Wall-clock length of an ended meeting (NULL while it has not ended), written exactly as
    the index ix_meetings_workspace_length of migration 0002 so that sorting walks it."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(Meeting.actual_end) - func.julianday(Meeting.actual_start)
    return Meeting.actual_end - Meeting.actual_start


def _sort_clauses(session: Session, sort: MeetingSort) -> list[ColumnElement[Any]]:
    if sort is MeetingSort.OLDEST:
        return [Meeting.created_at.asc(), Meeting.id.asc()]
    if sort is MeetingSort.LONGEST:
        return [_duration_expression(session).desc().nulls_last(), Meeting.id.desc()]
    return [Meeting.created_at.desc(), Meeting.id.desc()]


def search_meetings(
    session: Session,
    *,
    workspace_id: int,
    q: str | None = None,
    status: MeetingStatus | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: MeetingSort | None = None,
    page: int = 1,
    per_page: int = 20,
) -> MeetingResults:
    """A page of the workspace's meetings, filtered, sorted, and searched when ``q`` is given.

    A meeting matches when its title does or one of its transcript passages does (every word,
    each phrase in order, the last word as a prefix); matches carry highlighted snippets.
    """
    conditions = _meeting_conditions(
        workspace_id=workspace_id, status=status, date_from=date_from, date_to=date_to
    )
    if q is None or not q.strip():
        sort = MeetingSort.NEWEST if sort in (None, MeetingSort.RELEVANCE) else sort
        query = select(Meeting).where(*conditions)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        meetings = session.scalars(
            query.order_by(*_sort_clauses(session, sort))
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        items = [MeetingHit(meeting=m, matches=[]) for m in meetings]
        return MeetingResults(items, total, True, page, per_page, searching=False)
    parsed = parse_query(q)
    if parsed.is_empty:
        return MeetingResults([], 0, True, page, per_page, searching=True)
    sort = sort or MeetingSort.RELEVANCE
    window = SEARCH_WINDOW
    while True:
        ranked, exact = _rank_matches(
            session, query=parsed, conditions=conditions, sort=sort, window=window
        )
        if exact or len(ranked) >= page * per_page or window >= SEARCH_WINDOW_MAX:
            break
        window *= 4
    chosen = ranked[(page - 1) * per_page : page * per_page]
    chosen_ids = [c.meeting_id for c in chosen]
    loaded = {m.id: m for m in session.scalars(select(Meeting).where(Meeting.id.in_(chosen_ids)))}
    snippets = _snippets(
        session, query=parsed, segment_ids=[h.segment_id for c in chosen for h in c.hits]
    )
    items = [
        MeetingHit(
            meeting=loaded[c.meeting_id],
            matches=[
                SearchMatch(h.segment_id, h.start_ms, snippets.get(h.segment_id, Markup("")))
                for h in sorted(c.hits, key=lambda h: h.start_ms)
            ],
        )
        for c in chosen
        if c.meeting_id in loaded
    ]
    return MeetingResults(items, len(ranked), exact, page, per_page, searching=True)


@dataclass(frozen=True)
class _Hit:
    segment_id: int
    start_ms: int
    score: float  # larger is more relevant


@dataclass
class _Candidate:
    meeting_id: int
    title_match: bool = False
    hits: list[_Hit] = field(default_factory=list)
    best: float = 0.0
    count: int = 0


def _rank_matches(
    session: Session,
    *,
    query: SearchQuery,
    conditions: list[ColumnElement[bool]],
    sort: MeetingSort,
    window: int,
) -> tuple[list[_Candidate], bool]:
    """Matching meetings in the order asked, and whether the window held every match."""
    if session.get_bind().dialect.name == "sqlite":
        passages, titles = _sqlite_matches(session, query, conditions, window)
    else:
        passages, titles = _postgresql_matches(session, query, conditions, window)
    exact = len(passages) < window and len(titles) < window
    candidates: dict[int, _Candidate] = {}
    for segment_id, meeting_id, start_ms, score in passages:
        candidate = candidates.setdefault(meeting_id, _Candidate(meeting_id))
        candidate.count += 1
        candidate.best = max(candidate.best, float(score))
        candidate.hits.append(_Hit(segment_id, start_ms, float(score)))
    for meeting_id in titles:
        candidates.setdefault(meeting_id, _Candidate(meeting_id)).title_match = True
    for candidate in candidates.values():
        candidate.hits = sorted(candidate.hits, key=lambda h: (-h.score, h.start_ms))[
            :MATCHES_PER_MEETING
        ]
    found = list(candidates.values())
    if sort is MeetingSort.RELEVANCE:
        found.sort(key=lambda c: (not c.title_match, -c.best, -c.count, -c.meeting_id))
        return found, exact
    order = [
        meeting_id
        for meeting_id in session.scalars(
            select(Meeting.id)
            .where(Meeting.id.in_([c.meeting_id for c in found]))
            .order_by(*_sort_clauses(session, sort))
        )
    ]
    return [candidates[meeting_id] for meeting_id in order], exact


def _sqlite_matches(
    session: Session, query: SearchQuery, conditions: list[ColumnElement[bool]], window: int
) -> tuple[Sequence[Any], list[int]]:
    expression = query.fts5()
    passages = session.execute(
        select(
            Segment.id,
            Segment.meeting_id,
            Segment.start_ms,
            -func.bm25(literal_column("segments_fts")),
        )
        .select_from(_SEGMENTS_FTS)
        .join(Segment, Segment.id == _SEGMENTS_FTS.c.rowid)
        .join(Meeting, Meeting.id == Segment.meeting_id)
        .where(literal_column("segments_fts").op("MATCH")(expression), *conditions)
        .order_by(_SEGMENTS_FTS.c.rowid.desc())
        .limit(window)
    ).all()
    titles = list(
        session.scalars(
            select(Meeting.id)
            .select_from(_MEETINGS_FTS)
            .join(Meeting, Meeting.id == _MEETINGS_FTS.c.rowid)
            .where(literal_column("meetings_fts").op("MATCH")(expression), *conditions)
            .order_by(_MEETINGS_FTS.c.rowid.desc())
            .limit(window)
        )
    )
    return passages, titles


def _tsquery(query: SearchQuery) -> ColumnElement[Any]:
    return func.to_tsquery(_ENGLISH, query.tsquery())


def _postgresql_matches(
    session: Session, query: SearchQuery, conditions: list[ColumnElement[bool]], window: int
) -> tuple[Sequence[Any], list[int]]:
    """The window of most recent matching passages, in two steps (docs/queries.md):

    1. walk the newest POSTGRESQL_WALK_ROWS passages backwards by id, testing each, until the
       window is full: bounded work, and enough for any word said often;
    2. if the window is not full yet, the rest comes from the planner's choice over the older
       passages (the GIN index for rare words). The planner alone misjudges phrases, whose
       words go together, and would fetch tens of thousands of rows through the GIN index.
    """
    tsquery = _tsquery(query)
    search = _SEGMENT_SEARCH.c
    newest = session.scalar(select(func.max(search.segment_id))) or 0
    boundary = newest - POSTGRESQL_WALK_ROWS
    # OFFSET 0 fences the subquery: the search condition stays outside, so this is an index
    # walk from the newest id that stops at the LIMIT.
    walk = (
        select(search.segment_id, search.meeting_id, search.start_ms, search.search_vector)
        .where(search.segment_id > boundary)
        .order_by(search.segment_id.desc())
        .offset(0)
        .subquery()
    )
    passages = list(
        session.execute(
            select(
                walk.c.segment_id,
                walk.c.meeting_id,
                walk.c.start_ms,
                func.ts_rank(walk.c.search_vector, tsquery),
            )
            .join(Meeting, Meeting.id == walk.c.meeting_id)
            .where(walk.c.search_vector.op("@@")(tsquery), *conditions)
            .order_by(walk.c.segment_id.desc())
            .limit(window)
        )
    )
    if len(passages) < window and boundary > 0:
        older = (
            select(search.segment_id, search.meeting_id, search.start_ms, search.search_vector)
            .join(Meeting, Meeting.id == search.meeting_id)
            .where(
                search.search_vector.op("@@")(tsquery),
                search.segment_id <= boundary,
                *conditions,
            )
            .order_by(search.segment_id.desc())
            .limit(window - len(passages))
            .subquery()
        )
        # ranked after the LIMIT: ts_rank runs on the window only
        passages += session.execute(
            select(
                older.c.segment_id,
                older.c.meeting_id,
                older.c.start_ms,
                func.ts_rank(older.c.search_vector, tsquery),
            )
        ).all()
    titles = list(
        session.scalars(
            select(Meeting.id)
            .where(_MEETING_VECTOR.op("@@")(tsquery), *conditions)
            .order_by(Meeting.id.desc())
            .limit(window)
        )
    )
    return passages, titles


def _snippets(session: Session, *, query: SearchQuery, segment_ids: list[int]) -> dict[int, Markup]:
    """Highlighted snippets of these (matching) segments."""
    if not segment_ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        snippet = func.snippet(
            literal_column("segments_fts"), 0, MARK_START, MARK_END, "…", SNIPPET_TOKENS
        )
        # A rowid range makes FTS5 evaluate the query once (an IN list would evaluate it per
        # value: costly for a prefix); the unary + keeps the IN a plain filter on that range.
        rows: list[tuple[Any, str]] = [
            (segment_id, str(marked))
            for segment_id, marked in session.execute(
                select(_SEGMENTS_FTS.c.rowid, snippet).where(
                    literal_column("segments_fts").op("MATCH")(query.fts5()),
                    _SEGMENTS_FTS.c.rowid.between(min(segment_ids), max(segment_ids)),
                    literal_column("+segments_fts.rowid", Integer).in_(segment_ids),
                )
            )
        ]
    else:
        headline = func.ts_headline(
            _ENGLISH,
            func.coalesce(Segment.edited_text, Segment.text),
            _tsquery(query),
            _HEADLINE_OPTIONS,
        )
        rows = [
            (segment_id, trim_snippet(str(marked), SNIPPET_TOKENS))
            for segment_id, marked in session.execute(
                select(Segment.id, headline).where(Segment.id.in_(segment_ids))
            )
        ]
    return {int(segment_id): highlight(str(text)) for segment_id, text in rows}
