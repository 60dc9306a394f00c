"""Leases: which process does a piece of periodic work, taken and renewed with one atomic
UPDATE (or the INSERT of a name never held), so the same SQL works on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mina.models import Lease, utcnow


def take_lease(session: Session, *, name: str, holder: str, ttl_s: float) -> bool:
    """Hold ``name`` for ``ttl_s`` more seconds: True when ``holder`` had it or it was free
    (never held, or expired); False while another holder has it."""
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl_s)
    result = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=expires_at)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    if session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=expires_at))
    except IntegrityError:  # another process inserted it first
        return False
    return True


def release_lease(session: Session, *, name: str, holder: str) -> None:
    """Give ``name`` up (a clean shutdown), so another process takes it at once."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
