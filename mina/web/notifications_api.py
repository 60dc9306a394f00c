"""The signed-in person's notifications in the workspace they act in (the nav's bell): list
them, newest first, and mark them read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from mina import store
from mina.models import NotificationType
from mina.web.comments_api import AuthorOut
from mina.web.deps import ApiPrincipal, Db
from mina.web.errors import error_responses
from mina.web.fields import PositiveId

router = APIRouter(prefix="/api", tags=["notifications"])


class NotificationOut(BaseModel):
    id: int
    type: NotificationType
    meeting_id: int | None
    segment_id: int | None
    comment_id: int | None
    task_id: int | None
    created_at: datetime
    read_at: datetime | None
    actor: AuthorOut | None = Field(description="Who did it; null for Mina or a deleted account")
    meeting_title: str | None
    text: str = Field(description='A sentence for people: "Ada mentioned you in Weekly sync"')
    url: str | None = Field(description="The page (and moment) it is about")


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int = Field(description="How many are unread in this workspace, in all")


class ReadRequest(BaseModel):
    """``ids`` marks those read; ``{}`` or ``{"all": true}`` marks every one read."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    ids: list[PositiveId] | None = Field(default=None, max_length=500)
    all_: StrictBool | None = Field(default=None, alias="all")


class Unread(BaseModel):
    unread: int


def _text(item: store.ListedNotification) -> str:
    who = store.display_name(item.actor) if item.actor else None
    meeting = item.meeting_title or "a meeting"
    kind = item.notification.type
    if kind is NotificationType.MENTION:
        return f"{who or 'Someone'} mentioned you in {meeting}"
    if kind is NotificationType.TASK_ASSIGNED:
        task = f"\u201c{item.task_title}\u201d" if item.task_title else "a task"
        if who is None:
            return f"{task} from {meeting} is yours" if item.meeting_title else f"{task} is yours"
        return f"{who} assigned you {task}"
    return f"{who or 'Someone'} invited you to a workspace"


def _url(item: store.ListedNotification) -> str | None:
    n = item.notification
    if n.type is NotificationType.INVITE:
        return "/invites"
    if n.meeting_id is None:
        return "/tasks" if n.task_id is not None else None
    url = f"/dashboard/meeting/{n.meeting_id}"
    if item.start_ms is not None:
        url += f"?t={item.start_ms}"
    if n.segment_id is not None:
        url += f"#segment-{n.segment_id}"
    return url


def notification_out(item: store.ListedNotification) -> NotificationOut:
    n = item.notification
    return NotificationOut(
        id=n.id,
        type=n.type,
        meeting_id=n.meeting_id,
        segment_id=n.segment_id,
        comment_id=n.comment_id,
        task_id=n.task_id,
        created_at=n.created_at,
        read_at=n.read_at,
        actor=AuthorOut(id=item.actor.id, name=store.display_name(item.actor))
        if item.actor
        else None,
        meeting_title=item.meeting_title,
        text=_text(item),
        url=_url(item),
    )


@router.get("/notifications", response_model=NotificationList, responses=error_responses(401, 422))
def list_notifications(
    db: Db,
    principal: ApiPrincipal,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, description="An id: the page after it")] = None,
) -> NotificationList:
    """Your notifications in this workspace, newest first (``unread=true``: only unread ones)."""
    ids = dict(user_id=principal.user.id, workspace_id=principal.workspace.id)
    listed = store.list_notifications(db, **ids, unread_only=unread, before=before, limit=limit)
    return NotificationList(
        items=[notification_out(item) for item in listed],
        unread=store.count_unread(db, **ids),
    )


@router.post(
    "/notifications/read", response_model=Unread, responses=error_responses(400, 401, 403, 422)
)
def mark_read(body: ReadRequest, db: Db, principal: ApiPrincipal) -> Unread:
    """Mark some (``ids``) or all of your notifications in this workspace read."""
    ids = dict(user_id=principal.user.id, workspace_id=principal.workspace.id)
    store.mark_read(db, **ids, ids=None if body.all_ or body.ids is None else body.ids)
    db.commit()
    return Unread(unread=store.count_unread(db, **ids))
