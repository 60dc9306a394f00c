"""Comments on transcript segments: a segment's thread, a meeting's threads at once, comment
(viewers too), edit your own, delete your own (owners and admins delete any). ``@Name``
mentions notify the members they name (``mina.comments``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mina import store
from mina.comments.threads import post_comment, rewrite_comment
from mina.models import Comment, Role, Segment, User
from mina.store.comments import BODY_MAX
from mina.web.deps import ApiPrincipal, Commenter, Db
from mina.web.errors import ApiError, NotFound, error_responses
from mina.web.meetings_api import NO_MEETING, load_meeting

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["comments"])

NO_SEGMENT = (404, "No such segment in your workspace")
NO_COMMENT = (404, "No such comment in your workspace")
NOT_YOURS = (403, "Not its author (deleting: nor an owner or admin), or no CSRF header")
MODERATORS = frozenset({Role.OWNER, Role.ADMIN})

Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX),
]


class CommentWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(
        description="1 to 4000 characters (trimmed). Markdown-lite: **bold**, *italic*, "
        "`code`, http(s) links, line breaks; `@Name` mentions a member by name or email's "
        "local part"
    )


class AuthorOut(BaseModel):
    id: int
    name: str


class CommentOut(BaseModel):
    id: int
    segment_id: int
    meeting_id: int
    author: AuthorOut | None = Field(description="Null once their account is deleted")
    body: str = Field(description="As written: pages render it, escaped")
    mentions: list[int] = Field(description="The user ids of the members it mentions")
    created_at: datetime
    edited_at: datetime | None


class CommentList(BaseModel):
    items: list[CommentOut]


class MeetingComments(BaseModel):
    items: list[CommentOut] = Field(description="Every comment of the meeting, oldest first")
    counts: dict[int, int] = Field(description="How many comments each commented segment has")


def comment_out(comment: Comment, author: User | None) -> CommentOut:
    return CommentOut(
        id=comment.id,
        segment_id=comment.segment_id,
        meeting_id=comment.meeting_id,
        author=AuthorOut(id=author.id, name=store.display_name(author)) if author else None,
        body=comment.body,
        mentions=list(comment.mentions),
        created_at=comment.created_at,
        edited_at=comment.edited_at,
    )


def _segment(db: Db, principal: store.Principal, segment_id: int) -> Segment:
    segment = store.get_segment(db, workspace_id=principal.workspace.id, segment_id=segment_id)
    if segment is None:
        raise NotFound("Segment")
    return segment


def _comment(db: Db, principal: store.Principal, comment_id: int) -> Comment:
    comment = store.get_comment(db, workspace_id=principal.workspace.id, comment_id=comment_id)
    if comment is None:
        raise NotFound("Comment")
    return comment


@router.get(
    "/segments/{segment_id}/comments",
    response_model=CommentList,
    responses=error_responses(401, NO_SEGMENT, 422),
)
def list_comments(segment_id: int, db: Db, principal: ApiPrincipal) -> CommentList:
    """A segment's thread, oldest first."""
    segment = _segment(db, principal, segment_id)
    listed = store.list_segment_comments(db, segment_id=segment.id)
    return CommentList(items=[comment_out(c.comment, c.author) for c in listed])


@router.post(
    "/segments/{segment_id}/comments",
    status_code=201,
    response_model=CommentOut,
    responses=error_responses(400, 401, 403, NO_SEGMENT, 422),
)
def create_comment(segment_id: int, body: CommentWrite, db: Db, principal: Commenter) -> CommentOut:
    """Comment on a segment (viewers may). Each member an ``@Name`` mentions is notified, and
    ``comment.created`` webhooks are queued."""
    segment = _segment(db, principal, segment_id)
    meeting = load_meeting(db, principal, segment.meeting_id)
    try:
        comment = post_comment(
            db, meeting=meeting, segment=segment, author=principal.user, body=body.body
        )
    except store.StoreError as exc:
        raise _invalid(exc) from exc
    db.commit()
    logger.info("comment %s on segment %s by user %s", comment.id, segment.id, principal.user.id)
    return comment_out(comment, principal.user)


@router.patch(
    "/comments/{comment_id}",
    response_model=CommentOut,
    responses=error_responses(400, 401, NOT_YOURS, NO_COMMENT, 422),
)
def update_comment(comment_id: int, body: CommentWrite, db: Db, principal: Commenter) -> CommentOut:
    """Rewrite your comment; members it newly mentions are notified."""
    comment = _comment(db, principal, comment_id)
    if comment.author_id != principal.user.id:
        raise ApiError(403, "forbidden", "Only its author can edit a comment.")
    try:
        rewrite_comment(
            db,
            comment=comment,
            workspace_id=principal.workspace.id,
            editor=principal.user,
            body=body.body,
        )
    except store.StoreError as exc:
        raise _invalid(exc) from exc
    db.commit()
    return comment_out(comment, principal.user)


@router.delete(
    "/comments/{comment_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, NOT_YOURS, NO_COMMENT, 422),
)
def delete_comment(comment_id: int, db: Db, principal: Commenter) -> Response:
    """Delete your comment; the workspace's owner and admins may delete anyone's."""
    comment = _comment(db, principal, comment_id)
    if comment.author_id != principal.user.id and principal.role not in MODERATORS:
        raise ApiError(
            403, "forbidden", "Only its author, or an owner or admin, can delete a comment."
        )
    store.delete_comment(db, comment=comment)
    db.commit()
    logger.info("comment %s deleted by user %s", comment_id, principal.user.id)
    return Response(status_code=204)


@router.get(
    "/meetings/{meeting_id}/comments",
    response_model=MeetingComments,
    responses=error_responses(401, NO_MEETING, 422),
)
def list_meeting_comments(meeting_id: int, db: Db, principal: ApiPrincipal) -> MeetingComments:
    """Every thread of a meeting at once (what the meeting page loads), with each segment's
    count."""
    meeting = load_meeting(db, principal, meeting_id)
    listed = store.list_meeting_comments(db, meeting_id=meeting.id)
    counts: dict[int, int] = {}
    for item in listed:
        counts[item.comment.segment_id] = counts.get(item.comment.segment_id, 0) + 1
    return MeetingComments(items=[comment_out(c.comment, c.author) for c in listed], counts=counts)


def _invalid(exc: store.StoreError) -> ApiError:
    """A body the store refuses (CommentWrite's checks make it rare) is invalid like any other."""
    return ApiError(422, "validation_error", exc.message)
