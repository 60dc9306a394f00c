"""Tasks across meetings: action items of a meeting's insights (made once, found again when
insights are regenerated) and tasks people add; listed, completed, edited, deleted."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from mina.models import Meeting, Segment, Task, TaskSource, TaskStatus, utcnow
from mina.store._common import StoreError, _possible_id
from mina.store.webhooks import record_task_event

TITLE_MAX = 500
ASSIGNEE_MAX = 200


@dataclass(frozen=True)
class InsightItem:
    """An action item of a meeting's insights, as the tasks see it."""

    text: str
    segment_id: int | None
    start_ms: int | None
    owner: str | None
    due_date: date | None


def origin_key(text: str) -> str:
    """What identifies an action item within its meeting: its words, lower-cased, without
    punctuation (the same item worded the same way is the same task)."""
    words = re.findall(r"[\w']+", text.lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:64]


def sync_insight_tasks(
    session: Session, *, meeting: Meeting, items: Sequence[InsightItem]
) -> list[int | None]:
    """Each action item becomes a task once. An item already made into a task (the same words,
    or failing that, an insights task from the same segment) keeps that task untouched: done
    stays done, edits stay, a deleted one stays deleted (None). Returns each item's task id."""
    existing = list(
        session.scalars(
            select(Task).where(Task.meeting_id == meeting.id, Task.source == TaskSource.INSIGHTS)
        )
    )
    by_key = {task.origin_key: task for task in existing if task.origin_key}
    claimed: set[int] = set()
    found: list[Task | None] = []
    for item in items:
        task = by_key.get(origin_key(item.text))
        if task is not None and task.id in claimed:
            task = None
        found.append(task)
        if task is not None:
            claimed.add(task.id)
    ids: list[int | None] = []
    for item, task in zip(items, found, strict=True):
        if task is None and item.segment_id is not None:
            task = next(
                (t for t in existing if t.segment_id == item.segment_id and t.id not in claimed),
                None,
            )
            if task is not None:
                claimed.add(task.id)
        if task is None:
            task = Task(
                workspace_id=meeting.workspace_id,
                meeting_id=meeting.id,
                segment_id=item.segment_id,
                start_ms=item.start_ms,
                title=_title(item.text),
                status=TaskStatus.OPEN,
                assignee=_assignee(item.owner),
                due_date=item.due_date,
                source=TaskSource.INSIGHTS,
                origin_key=origin_key(item.text),
            )
            session.add(task)
            session.flush()
            record_task_event(session, task=task, event="task.created")
            claimed.add(task.id)
        ids.append(None if task.deleted_at is not None else task.id)
    return ids


def _title(text: str) -> str:
    title = " ".join(text.split())[:TITLE_MAX]
    if not title:
        raise StoreError("empty_title", "A task needs a title.")
    return title


def _assignee(value: str | None) -> str | None:
    return " ".join((value or "").split())[:ASSIGNEE_MAX] or None


def _visible(workspace_id: int) -> list[ColumnElement[bool]]:
    return [Task.workspace_id == workspace_id, Task.deleted_at.is_(None)]


def get_task(session: Session, *, workspace_id: int, task_id: int) -> Task | None:
    """A task of this workspace; another workspace's (or a deleted one) is None."""
    if not _possible_id(task_id):
        return None
    return session.scalar(select(Task).where(Task.id == task_id, *_visible(workspace_id)))


@dataclass(frozen=True)
class TaskPage:
    items: list[Task]
    total: int


def list_tasks(
    session: Session,
    *,
    workspace_id: int,
    status: TaskStatus | None = None,
    meeting_id: int | None = None,
    assignee: str | None = None,
    query: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> TaskPage:
    """The workspace's tasks, open ones first by due date (undated last), then done ones, the
    latest done first. ``assignee`` and ``query`` match case-insensitively (``query`` anywhere
    in the title or the assignee)."""
    conditions = _filters(workspace_id, meeting_id=meeting_id, assignee=assignee, query=query)
    if status is not None:
        conditions.append(Task.status == status)
    total = session.scalar(select(func.count(Task.id)).where(*conditions)) or 0
    done = Task.status == TaskStatus.DONE
    open_due = case((done, None), else_=Task.due_date)  # done ones: by when they were done
    rows = session.scalars(
        select(Task)
        .where(*conditions)
        .order_by(
            done.asc(),
            open_due.is_(None).asc(),
            open_due.asc(),
            Task.done_at.desc(),
            Task.meeting_id.desc(),
            Task.start_ms.asc(),
            Task.id.asc(),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return TaskPage(list(rows), int(total))


def _filters(
    workspace_id: int, *, meeting_id: int | None, assignee: str | None, query: str | None
) -> list[ColumnElement[bool]]:
    conditions = _visible(workspace_id)
    if meeting_id is not None:
        conditions.append(Task.meeting_id == meeting_id)
    if assignee:
        conditions.append(func.lower(Task.assignee) == assignee.strip().lower())
    if query and query.strip():
        pattern = "%" + _escape_like(query.strip().lower()) + "%"
        conditions.append(
            or_(
                func.lower(Task.title).like(pattern, escape="\\"),
                func.lower(func.coalesce(Task.assignee, "")).like(pattern, escape="\\"),
            )
        )
    return conditions


@dataclass(frozen=True)
class TaskCounts:
    open: int
    done: int
    overdue: int  # open, due before ``today``


def count_tasks(
    session: Session,
    *,
    workspace_id: int,
    today: date,
    assignee: str | None = None,
    query: str | None = None,
) -> TaskCounts:
    """How many tasks are open, done and overdue, with the same filters as ``list_tasks``."""
    conditions = _filters(workspace_id, meeting_id=None, assignee=assignee, query=query)
    overdue = and_(Task.status == TaskStatus.OPEN, Task.due_date < today)
    counts = {TaskStatus.OPEN: 0, TaskStatus.DONE: 0}
    late = 0
    for status, count, overdue_count in session.execute(
        select(Task.status, func.count(Task.id), func.count(case((overdue, Task.id))))
        .where(*conditions)
        .group_by(Task.status)
    ):
        counts[TaskStatus(status)] = int(count)
        late += int(overdue_count)
    return TaskCounts(counts[TaskStatus.OPEN], counts[TaskStatus.DONE], late)


def list_task_assignees(session: Session, *, workspace_id: int, limit: int = 200) -> list[str]:
    """The people the workspace's tasks are assigned to, each once (as first written, in
    alphabetical order regardless of case): for a filter."""
    names: dict[str, str] = {}
    for name in session.scalars(
        select(Task.assignee)
        .where(*_visible(workspace_id), Task.assignee.is_not(None))
        .group_by(Task.assignee)
        .order_by(func.lower(Task.assignee), Task.assignee)
        .limit(limit * 2)  # "Ada" and "ada" are one person
    ):
        if name:
            names.setdefault(name.lower(), name)
    return list(names.values())[:limit]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def create_task(
    session: Session,
    *,
    workspace_id: int,
    user_id: int | None,
    title: str,
    meeting: Meeting | None = None,
    segment: Segment | None = None,
    assignee: str | None = None,
    due_date: date | None = None,
) -> Task:
    """A task someone added, on its own or from a meeting (and a moment of it)."""
    if segment is not None and meeting is not None and segment.meeting_id != meeting.id:
        raise StoreError("segment_not_in_meeting", "That segment is not part of the meeting.")
    task = Task(
        workspace_id=workspace_id,
        meeting_id=meeting.id if meeting is not None else segment.meeting_id if segment else None,
        segment_id=segment.id if segment is not None else None,
        start_ms=segment.start_ms if segment is not None else None,
        title=_title(title),
        status=TaskStatus.OPEN,
        assignee=_assignee(assignee),
        due_date=due_date,
        source=TaskSource.MANUAL,
        created_by=user_id,
    )
    session.add(task)
    session.flush()
    record_task_event(session, task=task, event="task.created")
    return task


_UNSET = object()


def update_task(
    session: Session,
    *,
    task: Task,
    title: str | None = None,
    status: TaskStatus | None = None,
    assignee: str | None | object = _UNSET,
    due_date: date | None | object = _UNSET,
) -> Task:
    """Change what was given (``assignee`` and ``due_date`` may be cleared with None); a task
    that becomes done queues its ``task.completed`` webhooks."""
    if title is not None:
        task.title = _title(title)
    completed = status is TaskStatus.DONE and task.status is not TaskStatus.DONE
    if status is not None and status is not task.status:
        task.status = status
        task.done_at = utcnow() if status is TaskStatus.DONE else None
    if assignee is not _UNSET:
        task.assignee = _assignee(assignee if isinstance(assignee, str) else None)
    if due_date is not _UNSET:
        task.due_date = due_date if isinstance(due_date, date) else None
    task.updated_at = utcnow()
    session.flush()
    if completed:
        record_task_event(session, task=task, event="task.completed")
    return task


def delete_task(session: Session, *, task: Task) -> None:
    """Delete a task. One made from insights leaves a tombstone without its text, so
    regenerating the meeting's insights never brings it back."""
    if task.source is TaskSource.INSIGHTS:
        task.deleted_at = utcnow()
        task.title = ""
        task.assignee = None
        session.flush()
    else:
        session.delete(task)
        session.flush()


def meeting_task_states(session: Session, *, meeting_id: int) -> dict[int, TaskStatus]:
    """The status of each visible task of a meeting, by id."""
    return {
        task_id: status
        for task_id, status in session.execute(
            select(Task.id, Task.status).where(
                Task.meeting_id == meeting_id, Task.deleted_at.is_(None)
            )
        )
    }


def list_personal_tasks(
    session: Session, *, user_id: int, meeting_ids: Sequence[int]
) -> list[Task]:
    """The tasks a person added, and those of the meetings they organised (a data export)."""
    mine = Task.created_by == user_id
    condition = or_(mine, Task.meeting_id.in_(list(meeting_ids))) if meeting_ids else mine
    return list(
        session.scalars(select(Task).where(condition, Task.deleted_at.is_(None)).order_by(Task.id))
    )
