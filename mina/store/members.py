"""The people of a workspace: who they are, their roles, leaving and being removed, handing
over ownership, and the workspaces one person belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mina.models import ApiToken, Membership, Role, User, Workspace, utcnow
from mina.store._common import StoreError, _possible_id


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    email: str
    role: Role
    joined_at: datetime


@dataclass(frozen=True)
class UserWorkspace:
    id: int
    name: str
    role: Role
    members: int


def display_name(user: User) -> str:
    """What people see of a user: their name, or their email's local part without one."""
    return user.name or user.email.split("@")[0]


def list_members(session: Session, *, workspace_id: int) -> list[Member]:
    """The workspace's active members, owner first, then by role and name."""
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id, User.is_active.is_(True))
    ).all()
    members = [
        Member(
            user_id=user.id,
            name=display_name(user),
            email=user.email,
            role=membership.role,
            joined_at=membership.created_at,
        )
        for membership, user in rows
    ]
    return sorted(members, key=lambda m: (-m.role.rank, m.name.lower(), m.user_id))


def get_membership(session: Session, *, workspace_id: int, user_id: int) -> Membership | None:
    if not _possible_id(user_id) or not _possible_id(workspace_id):
        return None
    return session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )


def add_member(session: Session, *, workspace_id: int, user_id: int, role: Role) -> Membership:
    """Make the user a member with ``role``; an existing member keeps the higher of the two
    roles (accepting an invite never demotes anyone)."""
    membership = get_membership(session, workspace_id=workspace_id, user_id=user_id)
    if membership is None:
        membership = Membership(user_id=user_id, workspace_id=workspace_id, role=role)
        session.add(membership)
    elif role.rank > membership.role.rank:
        membership.role = role
    session.flush()
    return membership


def change_role(
    session: Session, *, workspace_id: int, actor_role: Role, user_id: int, role: Role
) -> Membership | None:
    """Give a member another role. Nobody becomes owner this way (``transfer_ownership``), the
    owner's role is changed only by a transfer, and an admin cannot touch another admin's
    role unless the actor is the owner. None when the user is not a member."""
    membership = get_membership(session, workspace_id=workspace_id, user_id=user_id)
    if membership is None:
        return None
    if role == Role.OWNER:
        raise StoreError("use_transfer", "Transfer ownership to make someone the owner.")
    if membership.role == Role.OWNER:
        raise StoreError("owner_role", "The owner's role changes only by transferring ownership.")
    if actor_role != Role.OWNER and Role.ADMIN in (membership.role, role):
        raise StoreError("forbidden", "Only the owner can make or unmake admins.")
    membership.role = role
    session.flush()
    return membership


def remove_member(
    session: Session, *, workspace_id: int, actor_role: Role, actor_id: int, user_id: int
) -> bool:
    """Take a member out of the workspace (or let one leave): their membership goes and every
    API token of theirs that acts in this workspace is revoked at once. The owner cannot be
    removed or leave (transfer ownership first); an admin removes only members and viewers."""
    membership = get_membership(session, workspace_id=workspace_id, user_id=user_id)
    if membership is None:
        return False
    if membership.role == Role.OWNER:
        raise StoreError(
            "owner_cannot_leave", "The owner cannot leave or be removed; transfer ownership first."
        )
    leaving = user_id == actor_id
    if not leaving and actor_role != Role.OWNER and membership.role == Role.ADMIN:
        raise StoreError("forbidden", "Only the owner can remove an admin.")
    session.delete(membership)
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.workspace_id == workspace_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.flush()
    return True


def transfer_ownership(
    session: Session, *, workspace: Workspace, owner_id: int, to_id: int
) -> bool:
    """Make another member the owner; the old owner becomes an admin. False when ``to_id`` is
    not a member."""
    target = get_membership(session, workspace_id=workspace.id, user_id=to_id)
    current = get_membership(session, workspace_id=workspace.id, user_id=owner_id)
    if target is None or current is None:
        return False
    if to_id == owner_id:
        return True
    current.role = Role.ADMIN
    target.role = Role.OWNER
    workspace.owner_id = to_id
    session.flush()
    return True


def list_user_workspaces(session: Session, *, user_id: int) -> list[UserWorkspace]:
    """Every workspace the user belongs to, in the order they joined them."""
    counts = (
        select(Membership.workspace_id, func.count().label("members"))
        .group_by(Membership.workspace_id)
        .subquery()
    )
    rows = session.execute(
        select(Workspace, Membership.role, counts.c.members)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .join(counts, counts.c.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    ).all()
    return [
        UserWorkspace(id=ws.id, name=ws.name, role=role, members=int(n)) for ws, role, n in rows
    ]


def rename_workspace(session: Session, *, workspace: Workspace, name: str) -> Workspace:
    name = name.strip()
    if not name:
        raise StoreError("invalid_name", "Give the workspace a name.")
    workspace.name = name[:200]
    session.flush()
    return workspace
