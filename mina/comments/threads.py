"""Writing a comment: its mentions resolved against the workspace's members, each newly
mentioned member notified, and (for a new one) the ``comment.created`` webhooks queued, all in
the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mina import store
from mina.comments.mentions import find_mentions
from mina.models import Comment, Meeting, NotificationType, Segment, User


def _mentions(session: Session, *, workspace_id: int, body: str) -> list[int]:
    members = store.list_members(session, workspace_id=workspace_id)
    return find_mentions(body, members)


def _notify_mentioned(
    session: Session, *, comment: Comment, workspace_id: int, actor_id: int
) -> None:
    """Tell each member the comment mentions and who was not told of it before."""
    told = store.mentioned_users(session, comment_id=comment.id)
    for user_id in comment.mentions:
        if user_id in told:
            continue
        store.notify(
            session,
            user_id=user_id,
            workspace_id=workspace_id,
            type=NotificationType.MENTION,
            actor_id=actor_id,
            meeting_id=comment.meeting_id,
            segment_id=comment.segment_id,
            comment_id=comment.id,
        )


def post_comment(
    session: Session, *, meeting: Meeting, segment: Segment, author: User, body: str
) -> Comment:
    """A new comment by ``author`` on ``segment`` of ``meeting`` (raises ``store.StoreError``
    for an empty or too long body)."""
    comment = store.create_comment(
        session,
        segment=segment,
        author_id=author.id,
        body=body,
        mentions=_mentions(session, workspace_id=meeting.workspace_id, body=body),
    )
    _notify_mentioned(
        session, comment=comment, workspace_id=meeting.workspace_id, actor_id=author.id
    )
    store.record_comment_event(session, comment=comment, author=author, meeting=meeting)
    return comment


def rewrite_comment(
    session: Session, *, comment: Comment, workspace_id: int, editor: User, body: str
) -> Comment:
    """The author rewrites their comment; only members it newly mentions are notified."""
    store.edit_comment(
        session,
        comment=comment,
        body=body,
        mentions=_mentions(session, workspace_id=workspace_id, body=body),
    )
    _notify_mentioned(session, comment=comment, workspace_id=workspace_id, actor_id=editor.id)
    return comment
