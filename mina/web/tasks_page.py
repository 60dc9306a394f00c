"""The ``/tasks`` page: the workspace's tasks across meetings, served with its first page of
results; ``static/js/tasks.js`` adds, completes, edits and deletes them through the tasks API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mina import store
from mina.models import TaskStatus, utcnow
from mina.web.deps import Db, PagePrincipal
from mina.web.rendering import render
from mina.web.tasks_api import task_out

router = APIRouter(include_in_schema=False)

TASKS_PER_PAGE = 50
TABS = [("open", "Open"), ("done", "Done"), ("all", "All")]
Tab = Literal["open", "done", "all"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class TaskListForm:
    """The page's query string, read forgivingly (a bad value is dropped)."""

    tab: Tab = "open"
    q: str = ""
    assignee: str = ""
    page: int = 1

    @classmethod
    def parse(cls, status: str, q: str, assignee: str, page: str) -> TaskListForm:
        tab: Tab = "done" if status == "done" else "all" if status == "all" else "open"
        return cls(
            tab=tab,
            q=" ".join(q.split())[:200],
            assignee=" ".join(assignee.split())[:200],
            page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
        )

    @property
    def status(self) -> TaskStatus | None:
        return None if self.tab == "all" else TaskStatus(self.tab)

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.assignee)

    def url(self, **changes: object) -> str:
        values: dict[str, object] = {
            "status": self.tab,
            "q": self.q,
            "assignee": self.assignee,
            "page": self.page,
        }
        values.update(changes)
        defaults = {"status": "open", "page": 1}
        kept = {k: v for k, v in values.items() if v != "" and defaults.get(k) != v}
        return "/tasks" + (f"?{urlencode(kept)}" if kept else "")


@dataclass(frozen=True)
class Due:
    """How a due date reads on the page (``static/js/tasks.js`` words it the same way)."""

    text: str
    state: Literal["overdue", "today", "tomorrow", "soon", "later"]


def describe_due(due: date, today: date) -> Due:
    days = (due - today).days
    if days < 0:
        return Due("was due yesterday" if days == -1 else f"was due {_day(due, today)}", "overdue")
    if days == 0:
        return Due("Due today", "today")
    if days == 1:
        return Due("Due tomorrow", "tomorrow")
    if days < 7:
        return Due(f"Due {WEEKDAYS[due.weekday()]}", "soon")
    return Due(f"Due {_day(due, today)}", "later")


def describe_done(done_at: datetime, today: date) -> str:
    days = (today - done_at.date()).days
    return (
        "Done today"
        if days == 0
        else "Done yesterday"
        if days == 1
        else f"Done {_day(done_at.date(), today)}"
    )


def _day(day: date, today: date) -> str:
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


@router.get("/tasks")
def tasks(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    status: str = "open",
    q: str = "",
    assignee: str = "",
    page: str = "1",
) -> Response:
    """The first page of the chosen tab with its counts; odd parameters are dropped, not
    errors. "Today" is the server's (UTC) here; the script redraws rows where the reader's
    day differs."""
    form = TaskListForm.parse(status, q, assignee, page)
    workspace_id = principal.workspace.id
    today = utcnow().date()
    found = store.list_tasks(
        db,
        workspace_id=workspace_id,
        status=form.status,
        assignee=form.assignee or None,
        query=form.q or None,
        page=form.page,
        per_page=TASKS_PER_PAGE,
    )
    counts = store.count_tasks(
        db, workspace_id=workspace_id, today=today, assignee=form.assignee or None, query=form.q
    )
    everything = (
        counts
        if not form.filtered
        else store.count_tasks(db, workspace_id=workspace_id, today=today)
    )
    ids = sorted({t.meeting_id for t in found.items if t.meeting_id is not None})
    titles = store.meeting_titles(db, workspace_id=workspace_id, meeting_ids=ids)
    items = [task_out(t, titles) for t in found.items]
    assignees = store.list_task_assignees(db, workspace_id=workspace_id)
    if form.assignee and form.assignee.lower() not in {a.lower() for a in assignees}:
        assignees.append(form.assignee)
    context = {
        "form": form,
        "tabs": TABS,
        "tasks": items,
        "total": found.total,
        "counts": counts,
        "any_tasks": everything.open + everything.done > 0,
        "assignees": assignees,
        "today": today,
        "due": lambda day: describe_due(day, today),
        "done": lambda at: describe_done(at, today),
        "pages": max(1, -(-found.total // TASKS_PER_PAGE)),
        "page_url": lambda number: form.url(page=number),
        "tab_url": lambda tab: form.url(status=tab, page=1),
        "page_data": {
            "today": today.isoformat(),
            "tab": form.tab,
            "tasks": [t.model_dump(mode="json") for t in items],
        },
    }
    return render(request, "tasks.html", context, principal=principal)
