"""Search across meetings (keyword, by meaning, or both) and Ask: answers that cite the moment."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from mina.semantic.ask import ask
from mina.semantic.index import VectorIndex
from mina.semantic.search import Filters, Mode, search
from mina.settings import Settings
from mina.web.deps import ApiPrincipal, Db, get_settings
from mina.web.errors import ApiError, error_responses
from mina.web.fields import Id
from mina.web.meetings_api import load_meeting

router = APIRouter(prefix="/api", tags=["search"])
AppSettings = Annotated[Settings, Depends(get_settings)]


class SearchItem(BaseModel):
    meeting_id: int
    meeting_title: str
    segment_id: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    score: float = Field(
        description="Higher is better: cosine (semantic), engine rank "
        "(keyword), fused reciprocal ranks (hybrid)"
    )
    matched: list[str] = Field(description='How it matched: "keyword", "meaning" or both')


class SearchResults(BaseModel):
    items: list[SearchItem]
    mode: Mode


class Question(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    meeting_id: Id | None = None


class CitationOut(BaseModel):
    meeting_id: int
    meeting_title: str
    segment_id: int
    start_ms: int
    text: str


class AnswerOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    provider: str
    found: bool = Field(description="False when the meetings do not contain an answer")


def _index(request: Request) -> VectorIndex:
    index: VectorIndex = request.app.state.vector_index
    return index


def _check_on(settings: Settings, mode: Mode) -> None:
    if mode is not Mode.KEYWORD and not settings.semantic_search:
        raise ApiError(
            409,
            "semantic_search_off",
            "Search by meaning is off on this server (MINA_SEMANTIC_SEARCH=false); "
            "use mode=keyword.",
        )


@router.get("/search", response_model=SearchResults, responses=error_responses(401, 404, 409, 422))
def search_meetings(
    request: Request,
    db: Db,
    principal: ApiPrincipal,
    settings: AppSettings,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    mode: Mode = Mode.HYBRID,
    meeting_id: int | None = None,
    date_from: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, inclusive")] = None,
    speaker: Annotated[
        str, Query(max_length=100, description="Only passages this speaker says most of")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    """Passages of the workspace's meetings for ``q``: ``keyword`` (full text, as the meetings
    list), ``semantic`` (by meaning, with a local embedding model) or ``hybrid`` (both, fused by
    reciprocal rank; the default). Each item is cited at its segment and moment."""
    _check_on(settings, mode)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ApiError(422, "validation_error", "Invalid request: from is after to.")
    if meeting_id is not None:
        load_meeting(db, principal, meeting_id)  # another workspace's meeting: 404
    hits = search(
        db,
        _index(request),
        workspace_id=principal.workspace.id,
        q=q,
        mode=mode,
        filters=Filters(meeting_id, date_from, date_to, speaker or None),
        limit=limit,
    )
    return SearchResults(
        items=[
            SearchItem(
                meeting_id=h.meeting_id,
                meeting_title=h.meeting_title,
                segment_id=h.segment_id,
                start_ms=h.start_ms,
                end_ms=h.end_ms,
                speaker=h.speaker,
                text=h.text,
                score=round(h.score, 6),
                matched=h.matched,
            )
            for h in hits
        ],
        mode=mode,
    )


@router.post("/ask", response_model=AnswerOut, responses=error_responses(400, 401, 404, 409, 422))
def ask_question(
    body: Question, request: Request, db: Db, principal: ApiPrincipal, settings: AppSettings
) -> AnswerOut:
    """An answer from what was said in the workspace's meetings (or one of them), citing the
    passages it comes from; ``found: false`` when they do not contain one. Offline by default;
    with ``MINA_LLM_URL`` the endpoint writes the answer from the retrieved passages only."""
    _check_on(settings, Mode.SEMANTIC)
    if body.meeting_id is not None:
        load_meeting(db, principal, body.meeting_id)
    answer = ask(
        db,
        _index(request),
        settings,
        workspace_id=principal.workspace.id,
        question=body.question,
        meeting_id=body.meeting_id,
    )
    return AnswerOut(
        answer=answer.answer,
        citations=[CitationOut(**c.__dict__) for c in answer.citations],
        provider=answer.provider,
        found=answer.found,
    )
