"""A task assigned to a member tells them (``task_assigned``): its free-text assignee is
matched against the workspace's members by ``mentions.member_named``, the one matching rule."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mina import store
from mina.comments.mentions import member_named
from mina.models import NotificationType, Task


def notify_assignee(session: Session, *, task: Task, actor_id: int | None) -> int | None:
    """Notify the member ``task.assignee`` names, unless they assigned it themselves
    (``actor_id`` None: Mina did, from a meeting's action items). Returns who was told."""
    if not task.assignee:
        return None
    members = store.list_members(session, workspace_id=task.workspace_id)
    user_id = member_named(members, task.assignee)
    if user_id is None:
        return None
    made = store.notify(
        session,
        user_id=user_id,
        workspace_id=task.workspace_id,
        type=NotificationType.TASK_ASSIGNED,
        actor_id=actor_id,
        meeting_id=task.meeting_id,
        segment_id=task.segment_id,
        task_id=task.id,
    )
    return user_id if made is not None else None
