"""Making a share link and opening one from its token.

A token is 32 random bytes (43 URL-safe characters); the database keeps its SHA-256, as for API
tokens (``mina.security.hash_token``). Opening a link looks the hash up, compares it in constant
time and checks expiry and revocation: an unknown, an expired and a revoked token all come back
as None after the same steps, so neither the answer nor its timing tells them apart."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mina import security, store
from mina.models import Meeting, ShareLink, utcnow

DEFAULT_DAYS = 7
MAX_DAYS = 90
# compared against when no row has the hash, so a miss costs what a hit costs
_NO_HASH = security.hash_token(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class NewLink:
    """A link just made, and its token: the one moment the token is known."""

    link: ShareLink
    token: str


def is_active(link: ShareLink, now: datetime | None = None) -> bool:
    """Not revoked and not yet expired."""
    return link.revoked_at is None and link.expires_at > (now or utcnow())


def create_link(
    session: Session,
    *,
    meeting: Meeting,
    user_id: int | None,
    days: int = DEFAULT_DAYS,
    include_audio: bool = False,
) -> NewLink:
    """A new link to ``meeting`` that expires ``days`` from now."""
    if not 1 <= days <= MAX_DAYS:
        raise store.StoreError("invalid_expiry", f"A link expires in 1 to {MAX_DAYS} days.")
    token = secrets.token_urlsafe(32)
    link = store.create_share_link(
        session,
        meeting=meeting,
        user_id=user_id,
        token_hash=security.hash_token(token),
        include_audio=include_audio,
        expires_at=utcnow() + timedelta(days=days),
    )
    return NewLink(link, token)


def open_link(session: Session, *, token: str) -> ShareLink | None:
    """The active link this token opens, or None (unknown, expired or revoked alike)."""
    wanted = security.hash_token(token[:200])
    link = store.find_share_link(session, token_hash=wanted)
    matches = security.tokens_equal(link.token_hash if link else _NO_HASH, wanted)
    active = link is not None and is_active(link)
    return link if matches and active else None
