"""Every query Mina runs. Functions take the SQLAlchemy session first and keyword arguments;
callers (web handlers, jobs, the CLI) own the transaction."""

from __future__ import annotations

import enum
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    BigInteger,
    ColumnClause,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy import Date as SqlDate
from sqlalchemy import Integer as SqlInteger
from sqlalchemy.orm import Session

from mina import security
from mina.audiostore import session_audio_path
from mina.models import (
    ApiToken,
    Job,
    JobStatus,
    Meeting,
    MeetingSpeaker,
    MeetingStatus,
    Membership,
    RecordingSession,
    Role,
    Segment,
    SessionStatus,
    User,
    Workspace,
    utcnow,
)
from mina.search import (
    MARK_END,
    MARK_START,
    SearchQuery,
    highlight,
    parse_query,
    trim_snippet,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
# Ids are 32-bit integer columns (PostgreSQL ``integer``): an id outside 1..MAX_ID names nothing.
MAX_ID = 2**31 - 1


def _possible_id(value: int) -> bool:
    """Whether ``value`` could be a row's id: larger numbers would fail in the database driver
    instead of simply finding nothing."""
    return 0 < value <= MAX_ID


class StoreError(ValueError):
    """A request the data cannot satisfy; the message is safe to show to the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who is acting, and in which workspace: what every scoped query needs."""

    user: User
    workspace: Workspace
    role: Role


# --- users -------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_new_user(email: str, password: str) -> None:
    if not EMAIL_RE.match(email):
        raise StoreError("invalid_email", "Enter a valid email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(
            "weak_password", f"Use a password of at least {MIN_PASSWORD_LENGTH} characters."
        )


def get_user_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def first_user(session: Session) -> User | None:
    """The oldest account (the one a fresh install's owner made)."""
    return session.scalar(select(User).order_by(User.id).limit(1))


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def create_user(session: Session, *, email: str, password: str, name: str = "") -> User:
    """Create an active user with an argon2id password hash and their own workspace."""
    email = normalise_email(email)
    validate_new_user(email, password)
    if get_user_by_email(session, email=email) is not None:
        raise StoreError("email_taken", "An account with this email already exists.")
    user = User(
        email=email,
        password_hash=security.hash_password(password),
        name=name.strip() or email.split("@")[0],
        is_active=True,
    )
    session.add(user)
    session.flush()
    create_workspace(session, owner=user)
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = get_user_by_email(session, email=email)
    ok = security.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = utcnow()
    return user


# --- workspaces --------------------------------------------------------------------------


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['\u2019]", "", ascii_text)
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60] or "workspace"


def _unique_slug(session: Session, base: str) -> str:
    slug = base
    while session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def create_workspace(session: Session, *, owner: User, name: str | None = None) -> Workspace:
    """A workspace owned by ``owner``, with their owner membership."""
    display = owner.name or owner.email.split("@")[0]
    name = name or f"{display}'s Workspace"
    workspace = Workspace(name=name, slug=_unique_slug(session, _slugify(name)), owner_id=owner.id)
    session.add(workspace)
    session.flush()
    session.add(Membership(user_id=owner.id, workspace_id=workspace.id, role=Role.OWNER))
    session.flush()
    return workspace


def get_principal(session: Session, *, user: User) -> Principal:
    """The user's workspace (their first membership), created on demand if they have none."""
    row = session.execute(
        select(Membership, Workspace)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
        .limit(1)
    ).first()
    if row is None:
        workspace = create_workspace(session, owner=user)
        return Principal(user=user, workspace=workspace, role=Role.OWNER)
    membership, workspace = row
    return Principal(user=user, workspace=workspace, role=membership.role)


# --- API tokens --------------------------------------------------------------------------


def create_api_token(session: Session, *, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and only its hash is stored."""
    name = name.strip()[:100] or "API token"
    plain = security.new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=security.hash_token(plain),
        prefix=plain[: len(security.API_TOKEN_PREFIX) + 4],
    )
    session.add(token)
    session.flush()
    return token, plain


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, *, user: User, token_id: int) -> bool:
    if not _possible_id(token_id):
        return False
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if token is None:
        return False
    token.revoked_at = utcnow()
    return True


def get_user_by_token(session: Session, *, token: str) -> User | None:
    """The active owner of a live (not revoked) API token; marks the token used."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == security.hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if not user.is_active:
        return None
    now = utcnow()
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
        api_token.last_used_at = now
    return user


# --- meetings ----------------------------------------------------------------------------


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


def update_meeting(
    session: Session, *, meeting: Meeting, title: str | None = None, description: str | None = None
) -> Meeting:
    if title is not None:
        meeting.title = title.strip() or meeting.title
    if description is not None:
        meeting.description = description
    meeting.updated_at = utcnow()
    return meeting


def delete_meeting(session: Session, *, meeting: Meeting) -> list[Path]:
    """Delete a meeting with its sessions and segments; returns its audio files to remove."""
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
    return paths


@dataclass(frozen=True)
class MeetingStats:
    segment_count: int
    word_count: int
    average_confidence: float | None
    audio_ms: int = 0


def meeting_duration_ms(meeting: Meeting, stats: MeetingStats) -> int | None:
    """How long a meeting lasted: its recorded audio once it ended, wall time while live."""
    if meeting.status is not MeetingStatus.LIVE and stats.audio_ms > 0:
        return stats.audio_ms
    return meeting.duration_ms


def _audio_ms() -> ColumnElement[Any]:
    """A recording's length in milliseconds, from its durable audio (16-bit samples). In
    64 bits: bytes * 500 passes 2**31 after 2 min 14 s of audio (PostgreSQL integers)."""
    return cast(RecordingSession.audio_bytes, BigInteger) * 500 / RecordingSession.sample_rate


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
    stats = {
        meeting_id: MeetingStats(
            int(segments or 0), int(words or 0), confidence, int(audio_ms or 0)
        )
        for meeting_id, segments, words, confidence, audio_ms in rows
    }
    return {m: stats.get(m, MeetingStats(0, 0, None)) for m in meeting_ids}


# --- recording sessions ------------------------------------------------------------------


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
) -> StartedRecording:
    """Create (or take a scheduled) meeting and its recording session in one transaction.

    The meeting is ``live`` from this instant, so the dashboard shows it at once.
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
) -> RecordingSession:
    """Close a recording with its statistics; complete the meeting unless another one is live."""
    recording = session.get(RecordingSession, recording_id, with_for_update=True)
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
    return recording


def claim_stale_recordings(session: Session, *, stale_before: datetime) -> list[RecordingSession]:
    """Active recordings whose process stopped beating, and interrupted ones never recovered.

    Each is claimed atomically (status moved to ``interrupted`` only if still stale), so two
    processes never recover the same recording and a resumed stream wins over recovery.
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


# --- uploads and jobs --------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedUpload:
    meeting: Meeting
    recording: RecordingSession
    job: Job


def create_upload(
    session: Session,
    *,
    principal: Principal,
    audio_dir: Path,
    title: str,
    language: str,
    engine: str,
    model: str,
    job_name: str,
    payload: dict[str, Any],
) -> CreatedUpload:
    """The meeting (``processing``), its recording session and the job that will transcribe an
    uploaded file, in one transaction: an upload is visible in the lists from this instant."""
    now = utcnow()
    meeting = Meeting(
        workspace_id=principal.workspace.id,
        organizer_id=principal.user.id,
        title=title.strip()[:300] or f"Upload {now:%d %b %Y %H:%M}",
        language=language,
        status=MeetingStatus.PROCESSING,
        actual_start=now,
    )
    session.add(meeting)
    session.flush()
    recording = _new_recording(
        meeting=meeting,
        principal=principal,
        audio_dir=audio_dir,
        sample_rate=16000,
        engine=engine,
        model=model,
    )
    job = Job(
        workspace_id=principal.workspace.id,
        name=job_name,
        status=JobStatus.QUEUED,
        progress=0.0,
        meeting_id=meeting.id,
        payload=payload,
        created_at=now,
    )
    session.add_all([recording, job])
    session.flush()
    return CreatedUpload(meeting=meeting, recording=recording, job=job)


def get_job(session: Session, *, workspace_id: int, job_id: int) -> Job | None:
    """A job of this workspace; another workspace's job is None, like a missing one."""
    if not _possible_id(job_id):
        return None
    return session.scalar(select(Job).where(Job.id == job_id, Job.workspace_id == workspace_id))


def load_job(session: Session, *, job_id: int) -> Job | None:
    """A job by id, whatever its workspace: for the job runner and job functions only."""
    return session.get(Job, job_id)


def list_unfinished_jobs(session: Session) -> list[Job]:
    """Jobs queued or running (at start-up: those that died with the server), oldest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .order_by(Job.created_at, Job.id)
        )
    )


def claim_job(session: Session, *, job_id: int) -> Job | None:
    """Mark a queued (or interrupted, still ``running``) job running and count the attempt;
    None when it is finished or gone."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, started_at=utcnow())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    job = session.get(Job, job_id, populate_existing=True)
    return job


def update_job(
    session: Session, *, job_id: int, progress: float, payload: dict[str, Any] | None = None
) -> bool:
    """Record a running job's progress (0..1) and payload; False if it is no longer running
    (finished elsewhere, or its meeting was deleted)."""
    values: dict[str, Any] = {"progress": min(1.0, max(0.0, progress))}
    if payload is not None:
        values["payload"] = payload
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def requeue_job(session: Session, *, job_id: int) -> None:
    """A job stopped by a server shutdown: queued again, that attempt not counted."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is not None and job.status is JobStatus.RUNNING:
        job.status = JobStatus.QUEUED
        job.attempts = max(0, job.attempts - 1)


def finish_job(session: Session, *, job_id: int) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.DONE, progress=1.0, error=None, finished_at=utcnow())
    )


def fail_job(session: Session, *, job_id: int, error: str) -> None:
    """A job that failed for good; its meeting, if still ``processing``, fails with it (and its
    unfinished recordings close), so nothing waits for a job that will not come back."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED):
        return
    now = utcnow()
    job.status = JobStatus.FAILED
    job.error = error[:2000]
    job.finished_at = now
    if job.meeting_id is None:
        return
    meeting = session.get(Meeting, job.meeting_id)
    if meeting is None or meeting.status is not MeetingStatus.PROCESSING:
        return
    for recording in list_recordings(session, meeting_id=meeting.id):
        if recording.status is SessionStatus.ACTIVE:
            finish_recording(session, recording_id=recording.id, audio_bytes=recording.audio_bytes)
    meeting.status = MeetingStatus.FAILED
    meeting.actual_end = now
    meeting.updated_at = now


# --- segment edits and speakers ----------------------------------------------------------


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


# --- analytics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekTotals:
    week_start: date  # a Monday (UTC)
    meetings: int
    audio_ms: int


@dataclass(frozen=True)
class Analytics:
    """A workspace's meetings that started in [since, until): what the analytics page shows.

    Times are UTC; ``weekdays`` counts meetings Monday first, ``hours`` by hour of day."""

    since: datetime
    until: datetime
    meetings: int
    audio_ms: int
    average_duration_ms: int | None
    average_confidence: float | None
    words: int
    words_per_minute: float | None
    weeks: list[WeekTotals]
    speakers: list[SpeakerTalk]
    weekdays: list[int]
    hours: list[int]


def _week_start(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        # the next Sunday (or the day itself), six days back: the week's Monday
        return func.date(value, "weekday 0", "-6 days")
    return cast(func.date_trunc("week", func.timezone("UTC", value)), SqlDate)


def _weekday(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """0 = Sunday ... 6 = Saturday, on both databases."""
    if dialect == "sqlite":
        return cast(func.strftime("%w", value), SqlInteger)
    return cast(func.extract("dow", func.timezone("UTC", value)), SqlInteger)


def _hour(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return cast(func.strftime("%H", value), SqlInteger)
    return cast(func.extract("hour", func.timezone("UTC", value)), SqlInteger)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def workspace_analytics(
    session: Session, *, workspace_id: int, since: datetime, until: datetime
) -> Analytics:
    """Totals, weekly series, talk time per speaker and busiest weekdays and hours: three
    aggregate queries over the period's meetings (recording totals for durations and words, the
    meeting_speakers summary for talk time: no segment is read); see docs/queries.md."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Statements psycopg has prepared get a generic plan after a few runs, which expects a
        # handful of meetings and sorts a year's 34,000 speaker rows (20 ms) instead of hashing
        # them (9 ms). A custom plan per run costs well under a millisecond of planning.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    started = func.coalesce(Meeting.actual_start, Meeting.created_at)
    in_period = and_(
        Meeting.workspace_id == workspace_id,
        Meeting.status != MeetingStatus.SCHEDULED,
        started >= since,
        started < until,
    )
    finished = RecordingSession.status != SessionStatus.ACTIVE
    audio = func.coalesce(_audio_ms(), 0)
    with_sessions = (
        select()
        .select_from(Meeting)
        .outerjoin(RecordingSession, RecordingSession.meeting_id == Meeting.id)
    )
    # one pass over the period's meetings for the totals and the weekly series: a meeting is
    # in one week only, so the weeks' distinct counts and sums add up to the period's
    week = _week_start(dialect, started).label("week")
    week_rows = session.execute(
        with_sessions.add_columns(
            week,
            func.count(func.distinct(Meeting.id)),
            func.sum(audio),
            func.count(func.distinct(case((RecordingSession.audio_bytes > 0, Meeting.id)))),
            func.sum(case((finished, RecordingSession.total_words), else_=0)),
            func.sum(case((finished, audio), else_=0)),
            func.sum(RecordingSession.average_confidence),
            func.count(RecordingSession.average_confidence),
        )
        .where(in_period)
        .group_by(week)
    ).all()
    meetings = sum(int(row[1]) for row in week_rows)
    audio_ms = sum(float(row[2] or 0) for row in week_rows)
    with_audio = sum(int(row[3]) for row in week_rows)
    words = sum(int(row[4] or 0) for row in week_rows)
    finished_ms = sum(float(row[5] or 0) for row in week_rows)
    rated = sum(int(row[7]) for row in week_rows)
    confidence = sum(float(row[6] or 0) for row in week_rows) / rated if rated else None
    average_ms = int(audio_ms) // with_audio if with_audio else None
    by_week = {_as_date(row[0]): (int(row[1]), int(row[2] or 0)) for row in week_rows}
    weeks: list[WeekTotals] = []
    monday = monday_of(since.date())
    last = monday_of((until - timedelta(microseconds=1)).date())
    while monday <= last:
        count, ms = by_week.get(monday, (0, 0))
        weeks.append(WeekTotals(monday, count, ms))
        monday += timedelta(days=7)

    weekday = _weekday(dialect, started).label("weekday")
    hour = _hour(dialect, started).label("hour")
    weekdays, hours = [0] * 7, [0] * 24
    for day, at, count in session.execute(
        select(weekday, hour, func.count(Meeting.id)).where(in_period).group_by(weekday, hour)
    ):
        weekdays[(int(day) + 6) % 7] += int(count)  # Sunday 0 -> index 6
        hours[int(at)] += int(count)

    # talk time from the per-meeting summary the segment triggers keep (a few rows a meeting)
    talk = func.sum(MeetingSpeaker.talk_ms)
    speakers = _speaker_talk(
        session.execute(
            select(MeetingSpeaker.speaker_key, talk, func.sum(MeetingSpeaker.segments))
            .join(Meeting, Meeting.id == MeetingSpeaker.meeting_id)
            .where(in_period)
            .group_by(MeetingSpeaker.speaker_key)
            .order_by(talk.desc(), MeetingSpeaker.speaker_key)
            .limit(20)
        )
    )
    minutes = int(finished_ms) / 60_000
    return Analytics(
        since=since,
        until=until,
        meetings=meetings,
        audio_ms=int(audio_ms),
        average_duration_ms=average_ms,
        average_confidence=confidence,
        words=words,
        words_per_minute=round(words / minutes, 1) if minutes > 0 else None,
        weeks=weeks,
        speakers=speakers,
        weekdays=weekdays,
        hours=hours,
    )
