"""Deleting an account: the user, their tokens and memberships, and every workspace where they
were the only member, with its meetings. A workspace shared with others stays with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from mina.models import (
    ApiToken,
    Job,
    Meeting,
    MeetingStatus,
    Membership,
    RecordingSession,
    Role,
    SessionStatus,
    User,
    Workspace,
)
from mina.store.jobs import job_owner
from mina.store.meetings import delete_meetings

# Who takes over a shared workspace whose owner leaves: the highest role, then the longest member.
_SUCCESSION = {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2, Role.VIEWER: 3}


@dataclass(frozen=True)
class DeletedAccount:
    """What went with an account: the workspaces deleted with it (their audio files to remove,
    by meeting) and the shared ones it left (their new owner's id)."""

    user_id: int
    deleted_workspaces: list[int] = field(default_factory=list)
    audio: dict[int, list[Path]] = field(default_factory=dict)
    left_workspaces: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkspaceMembership:
    workspace: Workspace
    role: Role


def list_memberships(session: Session, *, user_id: int) -> list[WorkspaceMembership]:
    """Every workspace the user belongs to, with their role, in the order they joined."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    )
    return [WorkspaceMembership(workspace, role) for workspace, role in rows]


def is_recording(session: Session, *, user_id: int, workspace_ids: list[int]) -> bool:
    """Whether the user records right now, or a meeting of these workspaces is live."""
    own = exists().where(
        RecordingSession.user_id == user_id, RecordingSession.status == SessionStatus.ACTIVE
    )
    live = exists().where(
        Meeting.workspace_id.in_(workspace_ids), Meeting.status == MeetingStatus.LIVE
    )
    return bool(session.scalar(select(own | live if workspace_ids else own)))


def sole_workspaces(session: Session, *, user_id: int) -> list[int]:
    """The workspaces where this user is the only member (deleted with the account)."""
    others = (
        select(Membership.workspace_id)
        .where(Membership.user_id != user_id)
        .group_by(Membership.workspace_id)
    )
    return list(
        session.scalars(
            select(Membership.workspace_id)
            .where(Membership.user_id == user_id, Membership.workspace_id.not_in(others))
            .order_by(Membership.workspace_id)
        )
    )


def delete_account(session: Session, *, user_id: int) -> DeletedAccount:
    """Delete the user, their API tokens and memberships (signed cookies naming them stop working
    at once: no such user). A workspace where they were the only member goes with its meetings,
    recordings, segments and jobs. A shared workspace stays with its members: a successor takes
    ownership if the user owned it (the highest role, then the longest member, promoted to
    owner), the user's meetings there pass to its owner, and their personal jobs are deleted.

    The caller checks the password and that nothing is being recorded, then commits and removes
    the returned audio files."""
    result = DeletedAccount(user_id=user_id)
    sole = sole_workspaces(session, user_id=user_id)
    for membership in list_memberships(session, user_id=user_id):
        workspace = membership.workspace
        if workspace.id in sole:
            continue
        owner_id = workspace.owner_id
        if owner_id == user_id:
            owner_id = _hand_over(session, workspace=workspace, leaving_user_id=user_id)
        session.execute(
            update(Meeting)
            .where(Meeting.workspace_id == workspace.id, Meeting.organizer_id == user_id)
            .values(organizer_id=owner_id)
        )
        result.left_workspaces[workspace.id] = owner_id
    shared = list(result.left_workspaces)
    personal_jobs = [
        job.id
        for job in session.scalars(select(Job).where(Job.workspace_id.in_(shared)))
        if job_owner(job) == user_id
    ]
    if personal_jobs:
        session.execute(delete(Job).where(Job.id.in_(personal_jobs)))
    for workspace_id in sole:
        meeting_ids = list(
            session.scalars(select(Meeting.id).where(Meeting.workspace_id == workspace_id))
        )
        result.audio.update(delete_meetings(session, meeting_ids=meeting_ids))
        session.execute(delete(Job).where(Job.workspace_id == workspace_id))
        session.execute(delete(Membership).where(Membership.workspace_id == workspace_id))
        session.execute(delete(Workspace).where(Workspace.id == workspace_id))
        result.deleted_workspaces.append(workspace_id)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    session.execute(delete(Membership).where(Membership.user_id == user_id))
    # recordings they made in shared workspaces keep their meeting; their user_id becomes NULL
    session.execute(delete(User).where(User.id == user_id))
    session.expire_all()
    return result


def _hand_over(session: Session, *, workspace: Workspace, leaving_user_id: int) -> int:
    """Make the next member the workspace's owner; returns their user id."""
    members = session.execute(
        select(Membership).where(
            Membership.workspace_id == workspace.id, Membership.user_id != leaving_user_id
        )
    ).scalars()
    successor = min(members, key=lambda m: (_SUCCESSION[m.role], m.created_at, m.id))
    successor.role = Role.OWNER
    session.execute(
        update(Workspace).where(Workspace.id == workspace.id).values(owner_id=successor.user_id)
    )
    session.flush()
    return successor.user_id
