"""Webhooks: a workspace's receivers, the events recorded for them (a durable outbox written in
the transaction that made each event true) and the sender's bookkeeping of each delivery."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mina.models import (
    Comment,
    DeliveryStatus,
    Meeting,
    Task,
    User,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from mina.store._common import _possible_id
from mina.store.members import display_name

# The events a webhook may ask for.
EVENTS = (
    "meeting.started",
    "meeting.completed",
    "insights.ready",
    "task.created",
    "task.completed",
    "comment.created",
)
RESPONSE_MAX = 500


# --- webhooks ----------------------------------------------------------------------------


def create_webhook(
    session: Session, *, workspace_id: int, user_id: int | None, url: str, events: Sequence[str]
) -> Webhook:
    """A new active webhook with a fresh signing secret (``whsec_`` and 32 random bytes)."""
    webhook = Webhook(
        workspace_id=workspace_id,
        url=url,
        events=_known(events),
        secret="whsec_" + secrets.token_urlsafe(32),
        active=True,
        created_by=user_id,
    )
    session.add(webhook)
    session.flush()
    return webhook


def _known(events: Sequence[str]) -> list[str]:
    """The events in EVENTS order, each once (callers validated the names)."""
    return [event for event in EVENTS if event in set(events)]


def list_webhooks(session: Session, *, workspace_id: int) -> list[Webhook]:
    return list(
        session.scalars(
            select(Webhook).where(Webhook.workspace_id == workspace_id).order_by(Webhook.id)
        )
    )


def get_webhook(session: Session, *, workspace_id: int, webhook_id: int) -> Webhook | None:
    if not _possible_id(webhook_id):
        return None
    return session.scalar(
        select(Webhook).where(Webhook.id == webhook_id, Webhook.workspace_id == workspace_id)
    )


def update_webhook(
    session: Session,
    *,
    webhook: Webhook,
    url: str | None = None,
    events: Sequence[str] | None = None,
    active: bool | None = None,
) -> Webhook:
    """Change what was given."""
    if url is not None:
        webhook.url = url
    if events is not None:
        webhook.events = _known(events)
    if active is not None:
        webhook.active = active
    session.flush()
    return webhook


def delete_webhook(session: Session, *, webhook: Webhook) -> None:
    """Delete a webhook and its delivery log (the rows cascade)."""
    session.delete(webhook)
    session.flush()


def list_deliveries(session: Session, *, webhook_id: int, limit: int = 50) -> list[WebhookDelivery]:
    """A webhook's delivery log, newest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


# --- recording events ----------------------------------------------------------------------


def record_event(
    session: Session, *, workspace_id: int, event: str, payload: dict[str, Any]
) -> int:
    """Queue ``event`` for every active webhook of the workspace that asked for it, in the
    caller's transaction: delivered only if that transaction commits. ``payload`` is the
    event's object (``{"meeting": {...}}``, ``{"task": {...}}``). One indexed query when the
    workspace has no webhooks. Returns how many deliveries were queued."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    rows = session.execute(
        select(Webhook.id, Webhook.events).where(
            Webhook.workspace_id == workspace_id, Webhook.active.is_(True)
        )
    ).all()
    now = utcnow()
    queued = 0
    for webhook_id, events in rows:
        if event not in (events or []):
            continue
        session.add(
            WebhookDelivery(
                webhook_id=webhook_id,
                event=event,
                delivery_id=str(uuid.uuid4()),
                payload=payload,
                status=DeliveryStatus.QUEUED,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    if queued:
        session.flush()
    return queued


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def meeting_event(meeting: Meeting) -> dict[str, Any]:
    """A meeting as webhook payloads show it."""
    duration_ms = None
    if meeting.actual_start and meeting.actual_end:
        duration_ms = int((meeting.actual_end - meeting.actual_start).total_seconds() * 1000)
    return {
        "id": meeting.id,
        "title": meeting.title,
        "status": meeting.status.value,
        "language": meeting.language,
        "actual_start": _time(meeting.actual_start),
        "actual_end": _time(meeting.actual_end),
        "duration_ms": duration_ms,
        "url": f"/dashboard/meeting/{meeting.id}",
    }


def task_event(task: Task) -> dict[str, Any]:
    """A task as webhook payloads show it."""
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status.value,
        "assignee": task.assignee,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "meeting_id": task.meeting_id,
        "segment_id": task.segment_id,
        "start_ms": task.start_ms,
        "source": task.source.value,
        "created_at": _time(task.created_at),
        "done_at": _time(task.done_at),
    }


def comment_event(comment: Comment, author: User | None) -> dict[str, Any]:
    """A comment as webhook payloads show it (``author`` None: a deleted account)."""
    return {
        "id": comment.id,
        "segment_id": comment.segment_id,
        "meeting_id": comment.meeting_id,
        "author": {"id": author.id, "name": display_name(author)} if author is not None else None,
        "body": comment.body,
        "mentions": list(comment.mentions),
        "created_at": _time(comment.created_at),
        "edited_at": _time(comment.edited_at),
    }


def record_meeting_event(session: Session, *, meeting: Meeting, event: str) -> int:
    return record_event(
        session,
        workspace_id=meeting.workspace_id,
        event=event,
        payload={"meeting": meeting_event(meeting)},
    )


def record_task_event(session: Session, *, task: Task, event: str) -> int:
    return record_event(
        session, workspace_id=task.workspace_id, event=event, payload={"task": task_event(task)}
    )


def record_comment_event(
    session: Session, *, comment: Comment, author: User | None, meeting: Meeting
) -> int:
    """Queue ``comment.created`` with the comment and its meeting."""
    return record_event(
        session,
        workspace_id=meeting.workspace_id,
        event="comment.created",
        payload={"comment": comment_event(comment, author), "meeting": meeting_event(meeting)},
    )


# --- the sender's bookkeeping ----------------------------------------------------------------


def list_due_deliveries(session: Session, *, now: datetime, limit: int = 20) -> list[int]:
    """Ids of the queued deliveries whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.QUEUED,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def claim_delivery(
    session: Session, *, delivery_id: int, now: datetime, lease_until: datetime
) -> WebhookDelivery | None:
    """Take a due delivery for one attempt: its next attempt moves to ``lease_until``, so no
    other sender (another process) takes it meanwhile, and a sender that dies mid-attempt
    leaves it to be retried then. None when it is no longer queued and due."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.QUEUED,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease_until, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    return session.get(WebhookDelivery, delivery_id, populate_existing=True)


def load_webhook(session: Session, *, webhook_id: int) -> Webhook | None:
    """A webhook by id, whatever its workspace (for the sender)."""
    return session.get(Webhook, webhook_id)


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    response: str | None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """What one attempt got: delivered, failed for good, or queued again for
    ``next_attempt_at``. False when the delivery is gone (its webhook was deleted)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return False
    delivery.status = status
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.last_response = response[:RESPONSE_MAX] if response is not None else None
    if status is DeliveryStatus.DELIVERED:
        delivery.delivered_at = utcnow()
    if next_attempt_at is not None:
        delivery.next_attempt_at = next_attempt_at
    session.flush()
    return True
