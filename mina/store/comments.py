"""Comments on transcript segments: a segment's thread, a meeting's threads at once, writing,
editing and deleting one, and a person's own (a data export)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from mina.models import Comment, Meeting, Segment, User, utcnow
from mina.store._common import StoreError, _possible_id

BODY_MAX = 4000


@dataclass(frozen=True)
class ListedComment:
    comment: Comment
    author: User | None  # None once their account is deleted


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise StoreError("empty_body", "A comment needs some text.")
    if len(body) > BODY_MAX:
        raise StoreError("body_too_long", f"A comment has at most {BODY_MAX} characters.")
    return body


def get_comment(session: Session, *, workspace_id: int, comment_id: int) -> Comment | None:
    """A comment on one of this workspace's meetings; another workspace's is None."""
    if not _possible_id(comment_id):
        return None
    return session.scalar(
        select(Comment)
        .join(Meeting, Meeting.id == Comment.meeting_id)
        .where(Comment.id == comment_id, Meeting.workspace_id == workspace_id)
    )


def _listed(session: Session, condition: ColumnElement[bool]) -> list[ListedComment]:
    rows = session.execute(
        select(Comment, User)
        .outerjoin(User, User.id == Comment.author_id)
        .where(condition)
        .order_by(Comment.created_at, Comment.id)
    )
    return [ListedComment(comment, author) for comment, author in rows]


def list_segment_comments(session: Session, *, segment_id: int) -> list[ListedComment]:
    """A segment's thread, oldest first."""
    return _listed(session, Comment.segment_id == segment_id)


def list_meeting_comments(session: Session, *, meeting_id: int) -> list[ListedComment]:
    """Every thread of a meeting, oldest first (the page groups them by segment)."""
    return _listed(session, Comment.meeting_id == meeting_id)


def create_comment(
    session: Session, *, segment: Segment, author_id: int, body: str, mentions: Sequence[int]
) -> Comment:
    """A new comment on ``segment`` (the body trimmed; 1 to BODY_MAX characters)."""
    comment = Comment(
        meeting_id=segment.meeting_id,
        segment_id=segment.id,
        author_id=author_id,
        body=_body(body),
        mentions=list(mentions),
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    return comment


def edit_comment(
    session: Session, *, comment: Comment, body: str, mentions: Sequence[int]
) -> Comment:
    """Rewrite a comment; an unchanged body changes nothing (not even ``edited_at``)."""
    text = _body(body)
    if text != comment.body:
        comment.body = text
        comment.mentions = list(mentions)
        comment.edited_at = utcnow()
        session.flush()
    return comment


def delete_comment(session: Session, *, comment: Comment) -> None:
    """Delete a comment (its mention notifications go with it)."""
    session.delete(comment)
    session.flush()


def list_user_comments(session: Session, *, user_id: int) -> list[Comment]:
    """Every comment a person wrote, in any workspace, oldest first (a data export)."""
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.author_id == user_id)
            .order_by(Comment.created_at, Comment.id)
        )
    )
