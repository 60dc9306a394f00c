"""Share links of a meeting: make one (its token is in that answer only), list them, revoke one.
The page a link opens is ``mina.web.shared_page``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from mina import sharing, store
from mina.models import ShareLink, User, utcnow
from mina.web.deps import Db, Editor
from mina.web.errors import NotFound, error_responses
from mina.web.meetings_api import NO_MEETING, load_meeting
from mina.web.proxies import public_base

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["sharing"])

NO_SHARE = (404, "No such share link in your workspace")


def _a_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("a whole number, not true, false or text")
    return value


Days = Annotated[int, Field(ge=1, le=sharing.MAX_DAYS), BeforeValidator(_a_number)]


class ShareCreate(BaseModel):
    expires_in_days: Days = Field(
        default=sharing.DEFAULT_DAYS, description="How long the link works: 1 to 90 days"
    )
    include_audio: StrictBool = Field(default=False, description="The page plays the audio")


class ShareCreated(BaseModel):
    id: int
    url: str = Field(description="The link to hand out; its token is shown this once only")
    expires_at: datetime
    include_audio: bool


class CreatorOut(BaseModel):
    id: int
    name: str


class ShareOut(BaseModel):
    id: int
    expires_at: datetime
    include_audio: bool
    created_at: datetime
    created_by: CreatorOut | None = Field(description="Null once their account is deleted")
    revoked_at: datetime | None
    active: bool = Field(description="Neither revoked nor expired: the link opens the page")


class ShareList(BaseModel):
    items: list[ShareOut]


def share_out(link: ShareLink, creator: User | None, now: datetime) -> ShareOut:
    return ShareOut(
        id=link.id,
        expires_at=link.expires_at,
        include_audio=link.include_audio,
        created_at=link.created_at,
        created_by=CreatorOut(id=creator.id, name=creator.name) if creator else None,
        revoked_at=link.revoked_at,
        active=sharing.is_active(link, now),
    )


@router.post(
    "/meetings/{meeting_id}/shares",
    status_code=201,
    response_model=ShareCreated,
    responses=error_responses(400, 401, 403, NO_MEETING, 422),
)
def create_share(
    meeting_id: int, body: ShareCreate, request: Request, db: Db, principal: Editor
) -> ShareCreated:
    """A read-only link to the meeting for people without an account (``/s/{token}``). The
    token is in ``url`` in this answer only: Mina keeps its hash."""
    meeting = load_meeting(db, principal, meeting_id)
    made = sharing.create_link(
        db,
        meeting=meeting,
        user_id=principal.user.id,
        days=body.expires_in_days,
        include_audio=body.include_audio,
    )
    db.commit()
    logger.info(
        "meeting %s: share link %s made by user %s", meeting.id, made.link.id, principal.user.id
    )
    return ShareCreated(
        id=made.link.id,
        url=public_base(request.app.state.settings.public_url, str(request.base_url))
        + f"/s/{made.token}",
        expires_at=made.link.expires_at,
        include_audio=made.link.include_audio,
    )


@router.get(
    "/meetings/{meeting_id}/shares",
    response_model=ShareList,
    responses=error_responses(401, NO_MEETING, 422),
)
def list_shares(meeting_id: int, db: Db, principal: Editor) -> ShareList:
    """The meeting's links, the newest first, active or not (never their tokens)."""
    meeting = load_meeting(db, principal, meeting_id)
    now = utcnow()
    listed = store.list_share_links(db, meeting_id=meeting.id)
    return ShareList(items=[share_out(item.link, item.creator, now) for item in listed])


@router.delete(
    "/shares/{share_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, NO_SHARE, 422),
)
def revoke_share(share_id: int, db: Db, principal: Editor) -> Response:
    """Revoke a link: it answers 404 from the next request on (revoking twice is fine)."""
    link = store.get_share_link(db, workspace_id=principal.workspace.id, share_id=share_id)
    if link is None:
        raise NotFound("Share link")
    store.revoke_share_link(db, link=link)
    db.commit()
    logger.info("share link %s revoked by user %s", link.id, principal.user.id)
    return Response(status_code=204)
