"""Invitations to a workspace: made, listed, revoked, found by the hash of their token, and
accepted once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import Invite, Role, User, Workspace, utcnow
from mina.store._common import _possible_id


@dataclass(frozen=True)
class FoundInvite:
    """An invite with its workspace and who sent it (None once their account is deleted)."""

    invite: Invite
    workspace: Workspace
    inviter: User | None


def create_invite(
    session: Session,
    *,
    workspace_id: int,
    email: str,
    role: Role,
    token_hash: str,
    invited_by: int | None,
    expires_at: datetime,
) -> Invite:
    invite = Invite(
        workspace_id=workspace_id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=invited_by,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(invite)
    session.flush()
    return invite


def list_pending_invites(session: Session, *, workspace_id: int) -> list[Invite]:
    """Invites neither accepted, revoked nor expired, the newest first."""
    return list(
        session.scalars(
            select(Invite)
            .where(
                Invite.workspace_id == workspace_id,
                Invite.accepted_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .order_by(Invite.created_at.desc(), Invite.id.desc())
        )
    )


def get_invite(session: Session, *, workspace_id: int, invite_id: int) -> Invite | None:
    if not _possible_id(invite_id):
        return None
    return session.scalar(
        select(Invite).where(Invite.id == invite_id, Invite.workspace_id == workspace_id)
    )


def find_invite(session: Session, *, token_hash: str) -> FoundInvite | None:
    row = session.execute(
        select(Invite, Workspace, User)
        .join(Workspace, Workspace.id == Invite.workspace_id)
        .outerjoin(User, User.id == Invite.invited_by)
        .where(Invite.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    invite, workspace, inviter = row
    return FoundInvite(invite, workspace, inviter)


def revoke_invite(session: Session, *, invite: Invite) -> None:
    if invite.revoked_at is None and invite.accepted_at is None:
        invite.revoked_at = utcnow()
    session.flush()


def mark_invite_accepted(session: Session, *, invite: Invite, user_id: int) -> None:
    invite.accepted_at = utcnow()
    invite.accepted_by = user_id
    session.flush()


def mark_invite_emailed(session: Session, *, invite: Invite) -> None:
    invite.emailed_at = utcnow()
    session.flush()


def list_open_invites_for(session: Session, *, email: str) -> list[FoundInvite]:
    """Invitations to this email address that can still be accepted, the newest first."""
    rows = session.execute(
        select(Invite, Workspace, User)
        .join(Workspace, Workspace.id == Invite.workspace_id)
        .outerjoin(User, User.id == Invite.invited_by)
        .where(
            Invite.email == email,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > utcnow(),
        )
        .order_by(Invite.created_at.desc(), Invite.id.desc())
    ).all()
    return [FoundInvite(invite, workspace, inviter) for invite, workspace, inviter in rows]
