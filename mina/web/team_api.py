"""A workspace's people: members and roles, invitations, ownership, and the caller's workspaces."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from mina import store
from mina.models import Invite, Role, User
from mina.settings import Settings
from mina.teams import Action, may
from mina.teams.access import AccessRevocations
from mina.teams.invites import (
    InviteError,
    NewInvite,
    accept_invite,
    create_invite,
    email_invite,
    invite_path,
    notify_invitee,
)
from mina.web.deps import (
    SESSION_WORKSPACE,
    ApiPrincipal,
    Db,
    Manager,
    Owner,
    bearer_token,
    get_settings,
    session_data,
)
from mina.web.errors import ApiError, NotFound, error_responses
from mina.web.fields import Id
from mina.web.proxies import public_base

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["team"])
AppSettings = Annotated[Settings, Depends(get_settings)]

NO_MEMBER = (404, "No such member in this workspace")
NO_INVITE = (404, "No such invite in this workspace")
FORBIDDEN = (403, "Your role does not allow this")


class WorkspaceItem(BaseModel):
    id: int
    name: str
    role: Role
    members: int
    current: bool = Field(description="The workspace this request acts in")


class WorkspaceList(BaseModel):
    items: list[WorkspaceItem]


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class WorkspaceUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class WorkspaceOut(BaseModel):
    id: int
    name: str
    role: Role


class MemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    role: Role
    joined_at: datetime


class MemberList(BaseModel):
    items: list[MemberOut]


class RoleChange(BaseModel):
    role: Role


class Transfer(BaseModel):
    user_id: Id


class InviteCreate(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    role: Literal["admin", "member", "viewer"] = "member"


class InviterOut(BaseModel):
    id: int
    name: str


class InviteOut(BaseModel):
    id: int
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    emailed_at: datetime | None
    invited_by: InviterOut | None


class InviteCreated(BaseModel):
    id: int
    email: str
    role: Role
    token: str = Field(description="Shown in this answer only: Mina keeps its hash")
    url: str = Field(description="The link to send: it signs the invitee up or in, then joins")
    expires_at: datetime
    emailed: bool = Field(description="Whether the link was emailed (MINA_SMTP_URL is set)")
    email_error: str | None = Field(default=None, description="Why the email was not sent")


class InviteList(BaseModel):
    items: list[InviteOut]


class Accepted(BaseModel):
    workspace_id: int
    role: Role


def _member_out(member: store.Member) -> MemberOut:
    return MemberOut(
        user_id=member.user_id,
        name=member.name,
        email=member.email,
        role=member.role,
        joined_at=member.joined_at,
    )


def _invite_out(invite: Invite, inviter: User | None) -> InviteOut:
    return InviteOut(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        emailed_at=invite.emailed_at,
        invited_by=InviterOut(id=inviter.id, name=inviter.name) if inviter else None,
    )


def _store_error(exc: store.StoreError) -> ApiError:
    status = 403 if exc.code == "forbidden" else 409
    return ApiError(status, exc.code, exc.message)


def base_url(request: Request) -> str:
    return public_base(request.app.state.settings.public_url, str(request.base_url))


# --- the caller's workspaces ---------------------------------------------------------------


@router.get("/workspaces", response_model=WorkspaceList, responses=error_responses(401))
def list_workspaces(db: Db, principal: ApiPrincipal) -> WorkspaceList:
    """Every workspace the caller belongs to, with their role in each. Send
    ``X-Mina-Workspace: <id>`` to act in one that is not the token's (or the page's) own."""
    listed = store.list_user_workspaces(db, user_id=principal.user.id)
    return WorkspaceList(
        items=[
            WorkspaceItem(
                id=w.id,
                name=w.name,
                role=w.role,
                members=w.members,
                current=w.id == principal.workspace.id,
            )
            for w in listed
        ]
    )


@router.post(
    "/workspaces",
    status_code=201,
    response_model=WorkspaceOut,
    responses=error_responses(400, 401, 403, 422),
)
def create_workspace(body: WorkspaceCreate, db: Db, principal: ApiPrincipal) -> WorkspaceOut:
    """A new workspace, owned by the caller (their other workspaces are unchanged)."""
    workspace = store.create_workspace(db, owner=principal.user, name=body.name.strip())
    db.commit()
    return WorkspaceOut(id=workspace.id, name=workspace.name, role=Role.OWNER)


@router.patch(
    "/workspace",
    response_model=WorkspaceOut,
    responses=error_responses(400, 401, FORBIDDEN, 422),
)
def rename_workspace(body: WorkspaceUpdate, db: Db, principal: Manager) -> WorkspaceOut:
    """Rename the workspace (owner and admins)."""
    workspace = db.merge(principal.workspace)
    try:
        store.rename_workspace(db, workspace=workspace, name=body.name)
    except store.StoreError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    db.commit()
    return WorkspaceOut(id=workspace.id, name=workspace.name, role=principal.role)


# --- members -------------------------------------------------------------------------------


@router.get("/workspace/members", response_model=MemberList, responses=error_responses(401))
def list_members(db: Db, principal: ApiPrincipal) -> MemberList:
    """The workspace's members and their roles, the owner first."""
    members = store.list_members(db, workspace_id=principal.workspace.id)
    return MemberList(items=[_member_out(m) for m in members])


@router.patch(
    "/workspace/members/{user_id}",
    response_model=MemberOut,
    responses=error_responses(400, 401, FORBIDDEN, NO_MEMBER, (409, "The owner's role"), 422),
)
def change_role(user_id: int, body: RoleChange, db: Db, principal: Manager) -> MemberOut:
    """Give a member another role. Only the owner makes or unmakes admins; the owner's own
    role changes only by transferring ownership."""
    try:
        membership = store.change_role(
            db,
            workspace_id=principal.workspace.id,
            actor_role=principal.role,
            user_id=user_id,
            role=body.role,
        )
    except store.StoreError as exc:
        raise _store_error(exc) from None
    if membership is None:
        raise NotFound("Member")
    db.commit()
    logger.info(
        "workspace %s: user %s is now %s (by user %s)",
        principal.workspace.id,
        user_id,
        body.role.value,
        principal.user.id,
    )
    member = next(
        m
        for m in store.list_members(db, workspace_id=principal.workspace.id)
        if m.user_id == user_id
    )
    return _member_out(member)


@router.delete(
    "/workspace/members/{user_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, FORBIDDEN, NO_MEMBER, (409, "The owner cannot leave"), 422),
)
def remove_member(user_id: int, request: Request, db: Db, principal: ApiPrincipal) -> Response:
    """Remove a member (owner and admins), or leave (anyone but the owner, with their own id).
    Access ends at once: their API tokens for this workspace are revoked and their open live
    viewer sockets closed."""
    leaving = user_id == principal.user.id
    if not leaving and not may(principal.role, Action.MANAGE):
        raise ApiError(403, "forbidden", "Only the workspace's owner and admins remove members.")
    try:
        removed = store.remove_member(
            db,
            workspace_id=principal.workspace.id,
            actor_role=principal.role,
            actor_id=principal.user.id,
            user_id=user_id,
        )
    except store.StoreError as exc:
        raise _store_error(exc) from None
    if not removed:
        raise NotFound("Member")
    db.commit()
    access: AccessRevocations = request.app.state.access
    closed = access.revoke(user_id, principal.workspace.id)
    logger.info(
        "workspace %s: user %s removed by user %s (%d sockets closed)",
        principal.workspace.id,
        user_id,
        principal.user.id,
        closed,
    )
    return Response(status_code=204)


@router.post(
    "/workspace/transfer",
    response_model=MemberList,
    responses=error_responses(400, 401, FORBIDDEN, NO_MEMBER, 422),
)
def transfer_ownership(body: Transfer, db: Db, principal: Owner) -> MemberList:
    """Make another member the owner; the caller becomes an admin. Answers the members."""
    workspace = db.merge(principal.workspace)
    if not store.transfer_ownership(
        db, workspace=workspace, owner_id=principal.user.id, to_id=body.user_id
    ):
        raise NotFound("Member")
    db.commit()
    logger.info(
        "workspace %s: ownership passed from user %s to user %s",
        workspace.id,
        principal.user.id,
        body.user_id,
    )
    members = store.list_members(db, workspace_id=workspace.id)
    return MemberList(items=[_member_out(m) for m in members])


# --- invitations ---------------------------------------------------------------------------


@router.post(
    "/workspace/invites",
    status_code=201,
    response_model=InviteCreated,
    responses=error_responses(400, 401, FORBIDDEN, (409, "Already a member"), 422),
)
def invite(
    body: InviteCreate, request: Request, db: Db, principal: Manager, settings: AppSettings
) -> InviteCreated:
    """Invite someone by email with a role (owner and admins; only the owner invites admins).
    The link is in ``url``; it is emailed too when ``MINA_SMTP_URL`` is set. It expires in
    7 days and works once, for an account with that email."""
    try:
        made: NewInvite = create_invite(
            db, principal=principal, email=body.email, role=Role(body.role)
        )
    except InviteError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    notify_invitee(db, made=made, inviter=principal.user)
    db.commit()
    url = base_url(request) + invite_path(made.token)
    error = None
    if settings.smtp_url:
        error = email_invite(
            db,
            smtp_url=settings.smtp_url,
            sender=settings.mail_from,
            made=made,
            inviter=principal.user,
            workspace_name=principal.workspace.name,
            url=url,
        )
        db.commit()
    logger.info(
        "workspace %s: invite %s (%s) made by user %s",
        principal.workspace.id,
        made.invite.id,
        made.invite.role.value,
        principal.user.id,
    )
    return InviteCreated(
        id=made.invite.id,
        email=made.invite.email,
        role=made.invite.role,
        token=made.token,
        url=url,
        expires_at=made.invite.expires_at,
        emailed=made.invite.emailed_at is not None,
        email_error=error,
    )


@router.get(
    "/workspace/invites", response_model=InviteList, responses=error_responses(401, FORBIDDEN)
)
def list_invites(db: Db, principal: Manager) -> InviteList:
    """Invites not yet accepted, revoked or expired, the newest first (never their tokens)."""
    invites = store.list_pending_invites(db, workspace_id=principal.workspace.id)
    inviters = {u.id: u for u in _users(db, {i.invited_by for i in invites if i.invited_by})}
    return InviteList(items=[_invite_out(i, inviters.get(i.invited_by or 0)) for i in invites])


def _users(db: Db, ids: set[int]) -> list[User]:
    return [u for u in (store.get_user(db, user_id=i) for i in sorted(ids)) if u is not None]


@router.delete(
    "/workspace/invites/{invite_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, FORBIDDEN, NO_INVITE, 422),
)
def revoke_invite(invite_id: int, db: Db, principal: Manager) -> Response:
    """Revoke an invite: its link stops working at once (revoking twice is fine)."""
    found = store.get_invite(db, workspace_id=principal.workspace.id, invite_id=invite_id)
    if found is None:
        raise NotFound("Invite")
    store.revoke_invite(db, invite=found)
    db.commit()
    return Response(status_code=204)


@router.post(
    "/invites/{token}/accept",
    response_model=Accepted,
    responses=error_responses(
        400,
        401,
        (403, "The invite is for another email address"),
        (404, "The invite does not exist, expired, was revoked or used"),
    ),
)
def accept(token: str, request: Request, db: Db, principal: ApiPrincipal) -> Accepted:
    """Join the workspace the invite is for, with its role. A signed-in browser then acts in
    it; an API token keeps its own workspace (send ``X-Mina-Workspace``)."""
    user = db.merge(principal.user)
    try:
        membership = accept_invite(db, token=token, user=user)
    except InviteError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    db.commit()
    if bearer_token(request.headers.get("authorization")) is None:
        session_data(request)[SESSION_WORKSPACE] = membership.workspace_id
    logger.info("user %s joined workspace %s", user.id, membership.workspace_id)
    return Accepted(workspace_id=membership.workspace_id, role=membership.role)
