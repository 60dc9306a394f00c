"""Notifications: what one person should see in one workspace (mentioned in a comment, a task
assigned to them, an invitation), listed newest first and marked read. ``notify`` is the one
way a notification is made."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from mina.models import Meeting, Notification, NotificationType, Segment, Task, User, utcnow
from mina.store._common import _possible_id


def notify(
    session: Session,
    *,
    user_id: int,
    workspace_id: int,
    type: NotificationType,
    actor_id: int | None = None,
    meeting_id: int | None = None,
    segment_id: int | None = None,
    comment_id: int | None = None,
    task_id: int | None = None,
) -> Notification | None:
    """Tell ``user_id`` about something in the workspace, in the caller's transaction. Nobody
    is told of what they did themselves: None then."""
    if actor_id is not None and actor_id == user_id:
        return None
    notification = Notification(
        user_id=user_id,
        workspace_id=workspace_id,
        type=type,
        actor_id=actor_id,
        meeting_id=meeting_id,
        segment_id=segment_id,
        comment_id=comment_id,
        task_id=task_id,
        created_at=utcnow(),
    )
    session.add(notification)
    session.flush()
    return notification


@dataclass(frozen=True)
class ListedNotification:
    notification: Notification
    actor: User | None  # None: Mina itself, or a deleted account
    meeting_title: str | None
    task_title: str | None
    start_ms: int | None  # the moment it is about: its segment's, else its task's


def _mine(user_id: int, workspace_id: int) -> list[ColumnElement[bool]]:
    """The user's notifications in this workspace, and their invitations wherever they are (an
    invitation is to a workspace they are not in yet)."""
    return [
        Notification.user_id == user_id,
        or_(
            Notification.workspace_id == workspace_id,
            Notification.type == NotificationType.INVITE,
        ),
    ]


def list_notifications(
    session: Session,
    *,
    user_id: int,
    workspace_id: int,
    unread_only: bool = False,
    before: int | None = None,
    limit: int = 50,
) -> list[ListedNotification]:
    """A person's notifications in the workspace, newest first; ``before`` (an id) gives the
    next page."""
    actor = aliased(User)
    conditions = _mine(user_id, workspace_id)
    if unread_only:
        conditions.append(Notification.read_at.is_(None))
    if before is not None and _possible_id(before):  # a larger one: every id is before it
        conditions.append(Notification.id < before)
    rows = session.execute(
        select(Notification, actor, Meeting.title, Task.title, Segment.start_ms, Task.start_ms)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .outerjoin(Meeting, Meeting.id == Notification.meeting_id)
        .outerjoin(Task, Task.id == Notification.task_id)
        .outerjoin(Segment, Segment.id == Notification.segment_id)
        .where(*conditions)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [
        ListedNotification(
            notification,
            who,
            meeting_title,
            task_title,
            segment_ms if segment_ms is not None else task_ms,
        )
        for notification, who, meeting_title, task_title, segment_ms, task_ms in rows
    ]


def count_unread(session: Session, *, user_id: int, workspace_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                *_mine(user_id, workspace_id), Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(
    session: Session, *, user_id: int, workspace_id: int, ids: list[int] | None = None
) -> None:
    """Mark these of the person's notifications read (ids not theirs are ignored), or, with
    None, all of them."""
    conditions = [*_mine(user_id, workspace_id), Notification.read_at.is_(None)]
    if ids is not None:
        wanted = [i for i in ids if _possible_id(i)]
        if not wanted:
            return
        conditions.append(Notification.id.in_(wanted))
    session.execute(
        update(Notification)
        .where(*conditions)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()


def mentioned_users(session: Session, *, comment_id: int) -> set[int]:
    """Who was already told of a mention in this comment (an edit tells only the new ones)."""
    return set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.comment_id == comment_id,
                Notification.type == NotificationType.MENTION,
            )
        )
    )
