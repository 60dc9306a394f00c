"""Tasks across meetings: list, add, complete, edit, delete."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from mina import store
from mina.comments.assignments import notify_assignee
from mina.models import Task, TaskSource, TaskStatus
from mina.web.deps import ApiPrincipal, Db, Editor
from mina.web.errors import ApiError, NotFound, error_responses
from mina.web.fields import Id

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["tasks"])

NO_TASK = (404, "No such task in your workspace")


class TaskOut(BaseModel):
    id: int
    title: str
    status: TaskStatus
    assignee: str | None
    due_date: date | None
    meeting_id: int | None
    meeting_title: str | None = Field(description="The meeting it comes from, if any")
    segment_id: int | None
    start_ms: int | None = Field(description="The moment of the meeting it comes from")
    source: TaskSource = Field(description="insights (an action item) or manual")
    created_at: datetime
    done_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int
    page: int
    per_page: int


Title = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]
Assignee = Annotated[str, Field(max_length=200)]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    meeting_id: Id | None = None
    segment_id: Id | None = Field(default=None, description="A moment of the meeting")
    assignee: Assignee | None = None
    due_date: date | None = Field(default=None, description="YYYY-MM-DD")


class TaskUpdate(BaseModel):
    """Send what changes; ``assignee: null`` and ``due_date: null`` clear them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # null title or status is refused (below), so the schema does not offer it
    title: Title | SkipJsonSchema[None] = None
    status: TaskStatus | SkipJsonSchema[None] = None
    assignee: Assignee | None = None
    due_date: date | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TaskUpdate:
        if not self.model_fields_set:
            raise ValueError("send title, status, assignee or due_date")
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title cannot be null")
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status cannot be null")
        return self


def task_out(task: Task, meeting_titles: dict[int, str]) -> TaskOut:
    return TaskOut(
        id=task.id,
        title=task.title,
        status=task.status,
        assignee=task.assignee,
        due_date=task.due_date,
        meeting_id=task.meeting_id,
        meeting_title=meeting_titles.get(task.meeting_id) if task.meeting_id else None,
        segment_id=task.segment_id,
        start_ms=task.start_ms,
        source=task.source,
        created_at=task.created_at,
        done_at=task.done_at,
    )


def _titles(db: Db, workspace_id: int, tasks: list[Task]) -> dict[int, str]:
    ids = sorted({t.meeting_id for t in tasks if t.meeting_id is not None})
    return store.meeting_titles(db, workspace_id=workspace_id, meeting_ids=ids)


@router.get("/tasks", response_model=TaskPage, responses=error_responses(401, 422))
def list_tasks(
    db: Db,
    principal: ApiPrincipal,
    status: TaskStatus | None = None,
    meeting_id: Annotated[int | None, Query(ge=1)] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="In titles and assignees")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskPage:
    """The workspace's tasks across meetings: open ones first by due date, then done ones."""
    found = store.list_tasks(
        db,
        workspace_id=principal.workspace.id,
        status=status,
        meeting_id=meeting_id,
        assignee=assignee,
        query=q,
        page=page,
        per_page=per_page,
    )
    titles = _titles(db, principal.workspace.id, found.items)
    return TaskPage(
        items=[task_out(t, titles) for t in found.items],
        total=found.total,
        page=page,
        per_page=per_page,
    )


@router.post(
    "/tasks",
    status_code=201,
    response_model=TaskOut,
    responses=error_responses(400, 401, 403, (404, "No such meeting or segment"), 422),
)
def create_task(body: TaskCreate, db: Db, principal: Editor) -> TaskOut:
    """Add a task, on its own, from a meeting, or from a moment of one (``segment_id``). An
    assignee who is a member of the workspace (by name or email) is notified."""
    workspace_id = principal.workspace.id
    meeting = None
    if body.meeting_id is not None:
        meeting = store.get_meeting(db, workspace_id=workspace_id, meeting_id=body.meeting_id)
        if meeting is None:
            raise NotFound("Meeting")
    segment = None
    if body.segment_id is not None:
        segment = store.get_segment(db, workspace_id=workspace_id, segment_id=body.segment_id)
        if segment is None:
            raise NotFound("Segment")
    try:
        task = store.create_task(
            db,
            workspace_id=workspace_id,
            user_id=principal.user.id,
            title=body.title,
            meeting=meeting,
            segment=segment,
            assignee=body.assignee,
            due_date=body.due_date,
        )
    except store.StoreError as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    notify_assignee(db, task=task, actor_id=principal.user.id)
    db.commit()
    return task_out(task, _titles(db, workspace_id, [task]))


@router.patch(
    "/tasks/{task_id}",
    response_model=TaskOut,
    responses=error_responses(400, 401, 403, NO_TASK, 422),
)
def update_task(task_id: int, body: TaskUpdate, db: Db, principal: Editor) -> TaskOut:
    """Complete or reopen a task, rename it, assign it, give or clear its due date. A new
    assignee who is a member of the workspace is notified."""
    task = _load(db, principal, task_id)
    fields = body.model_fields_set
    changes: dict[str, object] = {}
    if "assignee" in fields:
        changes["assignee"] = body.assignee
    if "due_date" in fields:
        changes["due_date"] = body.due_date
    assigned_before = (task.assignee or "").casefold()
    store.update_task(db, task=task, title=body.title, status=body.status, **changes)
    if (task.assignee or "").casefold() != assigned_before:
        notify_assignee(db, task=task, actor_id=principal.user.id)
    db.commit()
    return task_out(task, _titles(db, principal.workspace.id, [task]))


@router.delete(
    "/tasks/{task_id}", status_code=204, responses=error_responses(401, 403, NO_TASK, 422)
)
def delete_task(task_id: int, db: Db, principal: Editor) -> Response:
    """Delete a task (one made from insights does not come back when they are regenerated)."""
    task = _load(db, principal, task_id)
    store.delete_task(db, task=task)
    db.commit()
    return Response(status_code=204)


def _load(db: Db, principal: store.Principal, task_id: int) -> Task:
    task = store.get_task(db, workspace_id=principal.workspace.id, task_id=task_id)
    if task is None:
        raise NotFound("Task")
    return task
