"""Share links: made, listed, revoked, and found by the hash of their token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import Meeting, ShareLink, User, utcnow
from mina.store._common import _possible_id


@dataclass(frozen=True)
class ListedShare:
    """A meeting's link and who made it (None once their account is deleted)."""

    link: ShareLink
    creator: User | None


def create_share_link(
    session: Session,
    *,
    meeting: Meeting,
    user_id: int | None,
    token_hash: str,
    include_audio: bool,
    expires_at: datetime,
) -> ShareLink:
    link = ShareLink(
        workspace_id=meeting.workspace_id,
        meeting_id=meeting.id,
        created_by=user_id,
        token_hash=token_hash,
        include_audio=include_audio,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(link)
    session.flush()
    return link


def list_share_links(session: Session, *, meeting_id: int) -> list[ListedShare]:
    """Every link of a meeting, the newest first, with its creator."""
    rows = session.execute(
        select(ShareLink, User)
        .outerjoin(User, User.id == ShareLink.created_by)
        .where(ShareLink.meeting_id == meeting_id)
        .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
    )
    return [ListedShare(link, creator) for link, creator in rows]


def get_share_link(session: Session, *, workspace_id: int, share_id: int) -> ShareLink | None:
    """A link of this workspace (another workspace's id finds nothing)."""
    if not _possible_id(share_id):
        return None
    return session.scalar(
        select(ShareLink).where(ShareLink.id == share_id, ShareLink.workspace_id == workspace_id)
    )


def revoke_share_link(session: Session, *, link: ShareLink) -> None:
    """Stop the link working now (revoking it again keeps the first time)."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.flush()


def find_share_link(session: Session, *, token_hash: str) -> ShareLink | None:
    """The link whose token has this SHA-256, whatever its state (the caller checks it)."""
    return session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash))
