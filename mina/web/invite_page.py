"""``/invite/{token}``: an invitation to a workspace, accepted after signing up or in; and
``/workspace/switch``, the page switcher's form."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from mina import store
from mina.teams.invites import (
    InviteError,
    accept_invite,
    accept_invite_by_id,
    mask_email,
    open_invite,
)
from mina.web.auth import _safe_next
from mina.web.deps import (
    SESSION_WORKSPACE,
    Db,
    PagePrincipal,
    check_csrf,
    cookie_user,
    session_data,
)
from mina.web.rendering import flash, render

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

GONE = "This invitation does not exist, has expired, was revoked or was already used."


@router.get("/invite/{token}")
def invite_page(token: str, request: Request, db: Db) -> Response:
    """Who invites you where, as what; then sign up, sign in, or accept."""
    found = open_invite(db, token=token)
    user = cookie_user(db, session_data(request))
    if found is None:
        context = {"gone": True, "message": GONE}
        return _page(request, context, status_code=404)
    invite = found.invite
    context = {
        "gone": False,
        "workspace_name": found.workspace.name,
        "inviter": found.inviter.name if found.inviter else "Someone",
        "role": invite.role.value,
        "email": invite.email if user is not None else mask_email(invite.email),
        "expires_at": invite.expires_at,
        "path": f"/invite/{token}",
        "signed_in_as": user.email if user else None,
        "matches": user is not None and store.normalise_email(user.email) == invite.email,
        "already": user is not None
        and store.get_membership(db, workspace_id=invite.workspace_id, user_id=user.id) is not None,
    }
    return _page(request, context)


def _page(request: Request, context: dict[str, object], status_code: int = 200) -> Response:
    response = render(request, "invite.html", context, status_code=status_code)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/invite/{token}")
def accept_from_page(
    token: str, request: Request, db: Db, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    data = session_data(request)
    user = cookie_user(db, data)
    if user is None:
        return RedirectResponse(f"/login?next=/invite/{token}", status_code=303)
    try:
        membership = accept_invite(db, token=token, user=user)
    except InviteError as exc:
        return _page(request, {"gone": True, "message": exc.message}, status_code=exc.status)
    db.commit()
    data[SESSION_WORKSPACE] = membership.workspace_id
    principal = store.get_principal(db, user=user, workspace_id=membership.workspace_id)
    flash(request, f"You joined {principal.workspace.name} as {membership.role.value}.", "success")
    logger.info("user %s joined workspace %s", user.id, membership.workspace_id)
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/invites")
def my_invites(request: Request, db: Db, principal: PagePrincipal) -> Response:
    """The signed-in person's open invitations, each with Accept."""
    found = store.list_open_invites_for(db, email=store.normalise_email(principal.user.email))
    return render(request, "invites.html", {"invites": found}, principal=principal)


@router.post("/invites/{invite_id}/accept")
def accept_listed(
    invite_id: int,
    request: Request,
    db: Db,
    principal: PagePrincipal,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    user = db.merge(principal.user)
    try:
        membership = accept_invite_by_id(db, invite_id=invite_id, user=user)
    except InviteError as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/invites", status_code=303)
    db.commit()
    session_data(request)[SESSION_WORKSPACE] = membership.workspace_id
    joined = store.get_principal(db, user=user, workspace_id=membership.workspace_id)
    flash(request, f"You joined {joined.workspace.name} as {membership.role.value}.", "success")
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/workspace/switch")
def switch_workspace(
    request: Request,
    db: Db,
    principal: PagePrincipal,
    workspace_id: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Act in another of one's workspaces from now on (this browser session)."""
    check_csrf(request, csrf_token)
    chosen = store.find_principal(db, user=principal.user, workspace_id=workspace_id)
    if chosen is None:
        flash(request, "That workspace is not one of yours.", "error")
        return RedirectResponse("/dashboard", status_code=303)
    session_data(request)[SESSION_WORKSPACE] = chosen.workspace.id
    target = _safe_next(next)
    # a meeting of the workspace left behind would answer 404 in the new one
    if target.startswith("/dashboard/meeting/"):
        target = "/dashboard/meetings"
    return RedirectResponse(target, status_code=303)
