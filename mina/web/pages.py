"""The signed-in pages. Each reads its workspace's data through store functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from mina import store
from mina.models import Meeting, MeetingStatus, Role, utcnow
from mina.privacy import export
from mina.semantic.search import Filters, Hit, Mode, search
from mina.web.analytics_api import DEFAULT_DAYS, MAX_DAYS, load_analytics
from mina.web.deps import Db, PageEditor, PagePrincipal, check_csrf
from mina.web.errors import NotFound
from mina.web.insights_api import insights_out
from mina.web.rendering import flash, render
from mina.web.tasks_api import task_out
from mina.web.webhooks_api import WEBHOOK_EVENTS

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard(request: Request, db: Db, principal: PagePrincipal) -> Response:
    workspace_id = principal.workspace.id
    now = utcnow()
    today = datetime.combine(now.date(), time(), tzinfo=UTC)
    monday = today - timedelta(days=today.weekday())
    live = store.list_live_meetings(db, workspace_id=workspace_id)
    todays = store.list_meetings_between(
        db, workspace_id=workspace_id, start=today, end=today + timedelta(days=1)
    )
    recent = store.list_recent_meetings(db, workspace_id=workspace_id, limit=5)
    context = {
        "live": live,
        "today": todays,
        "recent": recent,
        "durations": _durations(db, [*live, *todays, *recent]),
        "total": store.count_meetings(db, workspace_id=workspace_id),
        "this_week": store.count_meetings(db, workspace_id=workspace_id, since=monday),
        "audio_ms": store.total_audio_ms(db, workspace_id=workspace_id),
    }
    return render(request, "dashboard.html", context, principal=principal)


@router.get("/dashboard/meetings")
def meetings(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    q: str = "",
    status: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    sort: str = "",
    page: str = "1",
) -> Response:
    """The meetings list: search, filters, sort, pages. Odd parameters are dropped, not errors."""
    form = MeetingListForm.parse(q, status, date_from, date_to, sort, page)
    results = store.search_meetings(
        db,
        workspace_id=principal.workspace.id,
        q=form.q or None,
        status=form.status,
        date_from=form.date_from,
        date_to=form.date_to,
        sort=form.sort,
        page=form.page,
        per_page=MEETINGS_PER_PAGE,
    )
    found = [hit.meeting for hit in results.items]
    stats = store.meeting_stats(db, meeting_ids=[m.id for m in found])
    pages = max(1, -(-results.total // MEETINGS_PER_PAGE))
    context = {
        "form": form,
        "results": results,
        "stats": stats,
        "durations": {m.id: store.meeting_duration_ms(m, stats[m.id]) for m in found},
        "statuses": list(MeetingStatus),
        "pages": pages,
        # a capped search may have more pages than its total says: offer one while pages are full
        "has_next": form.page < pages
        or (not results.total_exact and len(results.items) == MEETINGS_PER_PAGE),
        "page_url": lambda number: form.url(page=number),
        "any_meetings": bool(results.items)
        or store.count_meetings(db, workspace_id=principal.workspace.id) > 0,
        "meaning": _by_meaning(request, db, principal, form, results),
    }
    return render(request, "meetings.html", context, principal=principal)


MEANING_ON_PAGE = 5


def _by_meaning(
    request: Request,
    db: Db,
    principal: store.Principal,
    form: MeetingListForm,
    results: store.MeetingResults,
) -> list[Hit]:
    """Hybrid search on the meetings list: passages that match the words' meaning, beyond the
    keyword matches shown (first page only)."""
    settings = request.app.state.settings
    if not form.q or form.page > 1 or not settings.semantic_search:
        return []
    shown = {m.segment_id for hit in results.items for m in hit.matches}
    hits = search(
        db,
        request.app.state.vector_index,
        workspace_id=principal.workspace.id,
        q=form.q,
        mode=Mode.SEMANTIC,
        filters=Filters(date_from=form.date_from, date_to=form.date_to),
        limit=MEANING_ON_PAGE * 2,
    )
    return [h for h in hits if h.segment_id not in shown][:MEANING_ON_PAGE]


MEETINGS_PER_PAGE = 20


@dataclass(frozen=True)
class MeetingListForm:
    """The meetings list's query string, read forgivingly (a bad value is dropped)."""

    q: str = ""
    status: MeetingStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: store.MeetingSort | None = None
    page: int = 1

    @classmethod
    def parse(
        cls, q: str, status: str, date_from: str, date_to: str, sort: str, page: str
    ) -> MeetingListForm:
        def as_date(value: str) -> date | None:
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        start, end = as_date(date_from), as_date(date_to)
        if start and end and start > end:
            start, end = end, start
        chosen = store.MeetingSort(sort) if sort in set(store.MeetingSort) else None
        if chosen is store.MeetingSort.RELEVANCE and not q.strip():
            chosen = None
        return cls(
            q=q.strip()[:200],
            status=MeetingStatus(status) if status in set(MeetingStatus) else None,
            date_from=start,
            date_to=end,
            sort=chosen,
            page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.date_from or self.date_to)

    @property
    def effective_sort(self) -> store.MeetingSort:
        if self.sort is not None:
            return self.sort
        return store.MeetingSort.RELEVANCE if self.q else store.MeetingSort.NEWEST

    def url(self, **changes: object) -> str:
        values: dict[str, object] = {
            "q": self.q,
            "status": self.status.value if self.status else "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "sort": self.sort.value if self.sort else "",
            "page": self.page,
        }
        values.update(changes)
        kept = {k: v for k, v in values.items() if v != "" and not (k == "page" and v == 1)}
        return "/dashboard/meetings" + (f"?{urlencode(kept)}" if kept else "")


def _durations(db: Db, meetings: list[Meeting]) -> dict[int, int | None]:
    """Each meeting's duration as the API reports it (its audio, once it has ended)."""
    stats = store.meeting_stats(db, meeting_ids=[m.id for m in meetings])
    return {m.id: store.meeting_duration_ms(m, stats[m.id]) for m in meetings}


@router.get("/dashboard/meeting/{meeting_id}")
def meeting(request: Request, db: Db, principal: PagePrincipal, meeting_id: int) -> Response:
    found = store.get_meeting(db, workspace_id=principal.workspace.id, meeting_id=meeting_id)
    if found is None:
        raise NotFound("Meeting")
    segments = store.list_transcript(db, meeting_id=found.id)
    recordings = store.list_recordings(db, meeting_id=found.id)
    stats = store.meeting_stats(db, meeting_ids=[found.id])[found.id]
    context = {
        "meeting": found,
        "segments": segments,
        "has_audio": any(r.audio_path for r in recordings),
        "recovered": any(r.recovered for r in recordings),
        "words": sum(len(s.display_text.split()) for s in segments) or stats.word_count,
        "duration_ms": store.meeting_duration_ms(found, stats),
        "speakers": store.list_meeting_speakers(db, meeting_id=found.id),
        # the diarize job's state (pending, running, done, failed, off): the page polls while busy
        "speakers_state": stats.speakers,
        "is_live": found.status is MeetingStatus.LIVE,
        "semantic_search": request.app.state.settings.semantic_search,
    }
    if segments and not context["is_live"]:
        # what the Overview panel draws first (GET .../insights and GET /api/tasks?meeting_id=)
        context["insights"] = insights_out(db, found).model_dump(mode="json")
        context["tasks"] = _meeting_tasks(db, principal.workspace.id, found)
    return render(request, "meeting.html", context, principal=principal)


MEETING_TASKS = 200  # the most the meeting page lists (as one page of GET /api/tasks)


def _meeting_tasks(db: Db, workspace_id: int, meeting: Meeting) -> list[dict[str, object]]:
    found = store.list_tasks(
        db, workspace_id=workspace_id, meeting_id=meeting.id, page=1, per_page=MEETING_TASKS
    )
    titles = {meeting.id: meeting.title}
    return [task_out(task, titles).model_dump(mode="json") for task in found.items]


@router.get("/live")
def live(request: Request, principal: PageEditor) -> Response:
    return render(request, "live.html", principal=principal)


@router.get("/upload")
def upload(request: Request, principal: PageEditor) -> Response:
    settings = request.app.state.settings
    context = {"max_upload_mb": settings.max_upload_mb}
    return render(request, "upload.html", context, principal=principal)


PERIODS = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year"), (3650, "10 years")]
# the labels Mina gives speakers within one meeting (mina/speakers): not people across meetings
GIVEN_LABEL = re.compile(r"Speaker \d+")


@router.get("/analytics")
def analytics(request: Request, db: Db, principal: PagePrincipal, days: str = "") -> Response:
    period = int(days) if days.isdigit() and 1 <= int(days) <= MAX_DAYS else DEFAULT_DAYS
    data = load_analytics(db, principal, period)
    context = {
        "data": data,
        "chart_data": data.model_dump(mode="json"),
        "given_labels": any(GIVEN_LABEL.fullmatch(s.speaker or "") for s in data.speakers),
        "days": period,
        "periods": PERIODS,
        "total": store.count_meetings(db, workspace_id=principal.workspace.id),
    }
    return render(request, "analytics.html", context, principal=principal)


@router.get("/settings")
def settings_page(request: Request, db: Db, principal: PagePrincipal) -> Response:
    tokens = store.list_api_tokens(db, user=principal.user)
    workspaces = store.list_user_workspaces(db, user_id=principal.user.id)
    new_token = request.scope["session"].pop("new_token", None)
    latest = export.latest_export(
        db, user_id=principal.user.id, export_dir=request.app.state.settings.export_dir
    )
    context = {
        "tokens": tokens,
        "new_token": new_token,
        "export": latest,
        "manages_webhooks": principal.role in (Role.OWNER, Role.ADMIN),
        "manages_team": principal.role in (Role.OWNER, Role.ADMIN),
        "workspaces": workspaces,
        "workspace_names": {w.id: w.name for w in workspaces},
        "webhook_events": WEBHOOK_EVENTS,
    }
    return render(request, "settings.html", context, principal=principal)


@router.post("/settings/tokens")
def create_token(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    name: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    token, plain = store.create_api_token(
        db, user=principal.user, name=name, workspace_id=principal.workspace.id
    )
    db.commit()
    # Shown exactly once, on the next page view; only its hash is stored.
    request.scope["session"]["new_token"] = {"name": token.name, "value": plain}
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    token_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    if not store.revoke_api_token(db, user=principal.user, token_id=token_id):
        raise NotFound("Token")
    db.commit()
    flash(request, "Token revoked. Scripts using it stop working now.", "success")
    return RedirectResponse("/settings", status_code=303)
