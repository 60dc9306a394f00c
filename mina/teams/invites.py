"""Inviting people into a workspace, and accepting an invitation.

An invite names an email address and a role. Its token is 32 random bytes shown once (in the
answer that made it, and in the email when ``MINA_SMTP_URL`` is set); the database keeps its
SHA-256. It can be accepted once, within ``EXPIRY_DAYS``, by a signed-in person whose account
has that email address; an unknown, expired, revoked or used token all read the same."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from mina import security, store
from mina.models import Invite, Membership, NotificationType, Role, User, utcnow
from mina.store.accounts import EMAIL_RE, normalise_email
from mina.store.invites import FoundInvite
from mina.teams.mail import MailError, send_mail

logger = logging.getLogger(__name__)

EXPIRY_DAYS = 7
# compared against when no row has the hash, so a miss costs what a hit costs
_NO_HASH = security.hash_token(secrets.token_urlsafe(32))


class InviteError(store.StoreError):
    """An invite that cannot be made or accepted; ``status`` is the HTTP answer it deserves."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    token: str


def invite_path(token: str) -> str:
    return f"/invite/{token}"


def create_invite(
    session: Session, *, principal: store.Principal, email: str, role: Role
) -> NewInvite:
    """Invite ``email`` into the principal's workspace with ``role``. Only the owner invites
    admins; nobody is invited as owner. Inviting someone already in the workspace is a 409."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise InviteError(422, "invalid_email", "Enter a valid email address.")
    if role == Role.OWNER:
        raise InviteError(422, "invalid_role", "Invite as admin, member or viewer.")
    if role == Role.ADMIN and principal.role != Role.OWNER:
        raise InviteError(403, "forbidden", "Only the owner can invite admins.")
    existing = store.get_user_by_email(session, email=email)
    if existing is not None and store.get_membership(
        session, workspace_id=principal.workspace.id, user_id=existing.id
    ):
        raise InviteError(409, "already_member", f"{email} is already in this workspace.")
    token = secrets.token_urlsafe(32)
    invite = store.create_invite(
        session,
        workspace_id=principal.workspace.id,
        email=email,
        role=role,
        token_hash=security.hash_token(token),
        invited_by=principal.user.id,
        expires_at=utcnow() + timedelta(days=EXPIRY_DAYS),
    )
    return NewInvite(invite, token)


def is_open(invite: Invite) -> bool:
    return invite.accepted_at is None and invite.revoked_at is None and invite.expires_at > utcnow()


def open_invite(session: Session, *, token: str) -> FoundInvite | None:
    """The open invite this token names, or None (unknown, expired, revoked or used alike)."""
    wanted = security.hash_token(token[:200])
    found = store.find_invite(session, token_hash=wanted)
    matches = security.tokens_equal(found.invite.token_hash if found else _NO_HASH, wanted)
    return found if matches and found is not None and is_open(found.invite) else None


def notify_invitee(session: Session, *, made: NewInvite, inviter: User) -> None:
    """An invitee who already has an account is told in their bell too (it links to
    /invites, where their open invitations can be accepted)."""
    invitee = store.get_user_by_email(session, email=made.invite.email)
    if invitee is None or not invitee.is_active:
        return
    home = store.get_principal(session, user=invitee).workspace.id
    store.notify(
        session,
        user_id=invitee.id,
        workspace_id=home,
        type=NotificationType.INVITE,
        actor_id=inviter.id,
    )


def accept_invite_by_id(session: Session, *, invite_id: int, user: User) -> Membership:
    """Accept one of the signed-in user's open invitations (from /invites)."""
    for found in store.list_open_invites_for(session, email=normalise_email(user.email)):
        if found.invite.id == invite_id:
            membership = store.add_member(
                session,
                workspace_id=found.invite.workspace_id,
                user_id=user.id,
                role=found.invite.role,
            )
            store.mark_invite_accepted(session, invite=found.invite, user_id=user.id)
            return membership
    raise InviteError(
        404, "invite_not_found", "This invitation does not exist, has expired or was used."
    )


def accept_invite(session: Session, *, token: str, user: User) -> Membership:
    """Join the invite's workspace with its role (someone already in keeps the higher role).
    404 ``invite_not_found`` for a token that opens nothing; 403 ``invite_email_mismatch``
    when the signed-in account has another email address than the invite."""
    found = open_invite(session, token=token)
    if found is None:
        raise InviteError(
            404, "invite_not_found", "This invitation does not exist, has expired or was used."
        )
    invite = found.invite
    if normalise_email(user.email) != invite.email:
        raise InviteError(
            403,
            "invite_email_mismatch",
            f"This invitation is for {mask_email(invite.email)}. Sign in with that address.",
        )
    membership = store.add_member(
        session, workspace_id=invite.workspace_id, user_id=user.id, role=invite.role
    )
    store.mark_invite_accepted(session, invite=invite, user_id=user.id)
    return membership


def mask_email(email: str) -> str:
    """``a***@example.com``: enough to recognise one's own address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def email_invite(
    session: Session,
    *,
    smtp_url: str,
    sender: str,
    made: NewInvite,
    inviter: User,
    workspace_name: str,
    url: str,
) -> str | None:
    """Email the invite link; None when sent, else why not (the link still works)."""
    invite = made.invite
    days = EXPIRY_DAYS
    text = (
        f"{inviter.name or inviter.email} invited you to the workspace "
        f'"{workspace_name}" on Mina as {invite.role.value}.\n\n'
        f"Accept the invitation (it expires in {days} days):\n{url}\n\n"
        f"Sign up or sign in with {invite.email} to accept. If you did not expect this, "
        "ignore this message.\n"
    )
    try:
        send_mail(
            smtp_url,
            sender=sender,
            to=invite.email,
            subject=f"{inviter.name or inviter.email} invited you to {workspace_name} on Mina",
            text=text,
        )
    except MailError as exc:
        logger.warning("invite %s: email not sent: %s", invite.id, exc)
        return str(exc)
    store.mark_invite_emailed(session, invite=invite)
    return None
