"""Users, their workspaces, who is acting (``Principal``) and API tokens."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import security
from mina.models import ApiToken, Membership, Role, User, Workspace, utcnow
from mina.store._common import StoreError, _possible_id

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who is acting, and in which workspace: what every scoped query needs."""

    user: User
    workspace: Workspace
    role: Role


# --- users -------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_new_user(email: str, password: str) -> None:
    if not EMAIL_RE.match(email):
        raise StoreError("invalid_email", "Enter a valid email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(
            "weak_password", f"Use a password of at least {MIN_PASSWORD_LENGTH} characters."
        )


def get_user_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def first_user(session: Session) -> User | None:
    """The oldest account (the one a fresh install's owner made)."""
    return session.scalar(select(User).order_by(User.id).limit(1))


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def create_user(session: Session, *, email: str, password: str, name: str = "") -> User:
    """Create an active user with an argon2id password hash and their own workspace."""
    email = normalise_email(email)
    validate_new_user(email, password)
    if get_user_by_email(session, email=email) is not None:
        raise StoreError("email_taken", "An account with this email already exists.")
    user = User(
        email=email,
        password_hash=security.hash_password(password),
        name=name.strip() or email.split("@")[0],
        is_active=True,
    )
    session.add(user)
    session.flush()
    create_workspace(session, owner=user)
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = get_user_by_email(session, email=email)
    ok = security.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = utcnow()
    return user


# --- workspaces --------------------------------------------------------------------------


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['\u2019]", "", ascii_text)
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60] or "workspace"


def _unique_slug(session: Session, base: str) -> str:
    slug = base
    while session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def create_workspace(session: Session, *, owner: User, name: str | None = None) -> Workspace:
    """A workspace owned by ``owner``, with their owner membership."""
    display = owner.name or owner.email.split("@")[0]
    name = name or f"{display}'s Workspace"
    workspace = Workspace(name=name, slug=_unique_slug(session, _slugify(name)), owner_id=owner.id)
    session.add(workspace)
    session.flush()
    session.add(Membership(user_id=owner.id, workspace_id=workspace.id, role=Role.OWNER))
    session.flush()
    return workspace


def get_principal(session: Session, *, user: User, workspace_id: int | None = None) -> Principal:
    """The user acting in ``workspace_id`` if they are a member of it, else None is not an
    answer: a workspace they are not in falls back to their first membership (their own
    workspace, created on demand if they have none). Callers that must refuse a workspace the
    user is not in use ``find_principal``."""
    if workspace_id is not None:
        found = find_principal(session, user=user, workspace_id=workspace_id)
        if found is not None:
            return found
    row = session.execute(
        select(Membership, Workspace)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
        .limit(1)
    ).first()
    if row is None:
        workspace = create_workspace(session, owner=user)
        return Principal(user=user, workspace=workspace, role=Role.OWNER)
    membership, workspace = row
    return Principal(user=user, workspace=workspace, role=membership.role)


def find_principal(session: Session, *, user: User, workspace_id: int) -> Principal | None:
    """The user acting in ``workspace_id``, or None when they are not a member of it."""
    if not _possible_id(workspace_id):
        return None
    row = session.execute(
        select(Membership, Workspace)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user.id, Membership.workspace_id == workspace_id)
    ).first()
    if row is None:
        return None
    membership, workspace = row
    return Principal(user=user, workspace=workspace, role=membership.role)


# --- API tokens --------------------------------------------------------------------------


def create_api_token(
    session: Session, *, user: User, name: str, workspace_id: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token acting in ``workspace_id`` (the user's first workspace when None); the
    plain value is returned once and only its hash is stored."""
    if workspace_id is None:
        workspace_id = get_principal(session, user=user).workspace.id
    name = name.strip()[:100] or "API token"
    plain = security.new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=security.hash_token(plain),
        prefix=plain[: len(security.API_TOKEN_PREFIX) + 4],
        workspace_id=workspace_id,
    )
    session.add(token)
    session.flush()
    return token, plain


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, *, user: User, token_id: int) -> bool:
    if not _possible_id(token_id):
        return False
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if token is None:
        return False
    token.revoked_at = utcnow()
    return True


def get_user_by_token(session: Session, *, token: str) -> User | None:
    """The active owner of a live (not revoked) API token; marks the token used."""
    found = get_token(session, token=token)
    return found[1] if found else None


def get_token(session: Session, *, token: str) -> tuple[ApiToken, User] | None:
    """A live (not revoked) API token and its active user; marks the token used."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == security.hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if not user.is_active:
        return None
    now = utcnow()
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
        api_token.last_used_at = now
    return api_token, user
