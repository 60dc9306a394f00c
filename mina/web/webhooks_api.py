"""Webhooks: add, list, change and delete a workspace's receivers, and read their delivery log.
Owners and admins only; the signing secret is shown once, in the answer that creates it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from mina import store
from mina.models import DeliveryStatus, Role, Webhook, WebhookDelivery
from mina.settings import Settings
from mina.web.deps import Db, Manager, get_settings
from mina.web.errors import ApiError, NotFound, error_responses
from mina.webhooks.targets import URL_MAX, TargetRefused, check_target

router = APIRouter(prefix="/api", tags=["webhooks"])

Event = Literal[
    "meeting.started",
    "meeting.completed",
    "insights.ready",
    "task.created",
    "task.completed",
    "comment.created",
]
assert get_args(Event) == store.EVENTS
# what the settings page says of each event
WEBHOOK_EVENTS: dict[str, str] = {
    "meeting.started": "A live recording starts a meeting",
    "meeting.completed": "A meeting completes (recorded or uploaded)",
    "insights.ready": "A meeting's summary and action items are ready",
    "task.created": "A task is added or made from an action item",
    "task.completed": "A task is done",
    "comment.created": "Someone comments on a segment",
}
assert tuple(WEBHOOK_EVENTS) == store.EVENTS
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
NO_WEBHOOK = (404, "No such webhook in your workspace")
FORBIDDEN = (403, "Not an owner or admin of the workspace, or no CSRF header on a write")
AppSettings = Annotated[Settings, Depends(get_settings)]
BAD_URL = (422, "Invalid body, or a refused URL (not http(s), no host, private address)")

Url = Annotated[str, Field(min_length=1, max_length=URL_MAX, examples=["https://example.com/hook"])]
Events = Annotated[list[Event], Field(min_length=1, max_length=len(get_args(Event)))]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events


class WebhookUpdate(BaseModel):
    """Send what changes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    url: Url | SkipJsonSchema[None] = None
    events: Events | SkipJsonSchema[None] = None
    active: bool | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _something_to_change(self) -> WebhookUpdate:
        if not self.model_fields_set:
            raise ValueError("send url, events or active")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (X-Mina-Signature); shown only in this answer"
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event: str
    delivery_id: str = Field(description="The X-Mina-Delivery header, the same on every retry")
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_response: str | None = Field(description="The first 500 characters of the last answer")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="While queued: the next attempt")
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=list(webhook.events),
        active=webhook.active,
        created_at=webhook.created_at,
    )


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    queued = delivery.status is DeliveryStatus.QUEUED
    return DeliveryOut(
        id=delivery.id,
        event=delivery.event,
        delivery_id=delivery.delivery_id,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        last_response=delivery.last_response,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if queued else None,
        delivered_at=delivery.delivered_at,
    )


def _manager(principal: store.Principal) -> int:
    """The workspace id (the ``Manager`` dependency has refused everyone below admin)."""
    return principal.workspace.id


def _target(url: str, settings: Settings) -> str:
    try:
        return check_target(url, allow_private=settings.webhook_allow_private)
    except TargetRefused as exc:
        raise ApiError(422, "invalid_url", str(exc)) from None


def _load(db: Db, principal: store.Principal, webhook_id: int) -> Webhook:
    webhook = store.get_webhook(db, workspace_id=principal.workspace.id, webhook_id=webhook_id)
    if webhook is None:
        raise NotFound("Webhook")
    return webhook


@router.get("/webhooks", response_model=WebhookList, responses=error_responses(401, FORBIDDEN))
def list_webhooks(db: Db, principal: Manager) -> WebhookList:
    """The workspace's webhooks (without their secrets)."""
    workspace_id = _manager(principal)
    return WebhookList(
        items=[webhook_out(w) for w in store.list_webhooks(db, workspace_id=workspace_id)]
    )


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=error_responses(400, 401, FORBIDDEN, BAD_URL),
)
def create_webhook(
    body: WebhookCreate, db: Db, principal: Manager, settings: AppSettings
) -> WebhookCreated:
    """Add a webhook. The answer holds its signing secret: it is never shown again."""
    workspace_id = _manager(principal)
    url = _target(body.url, settings)
    webhook = store.create_webhook(
        db, workspace_id=workspace_id, user_id=principal.user.id, url=url, events=body.events
    )
    db.commit()
    return WebhookCreated(**webhook_out(webhook).model_dump(), secret=webhook.secret)


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    responses=error_responses(400, 401, FORBIDDEN, NO_WEBHOOK, BAD_URL),
)
def update_webhook(
    webhook_id: int, body: WebhookUpdate, db: Db, principal: Manager, settings: AppSettings
) -> WebhookOut:
    """Change a webhook's URL or events, or turn it off and on (``active``)."""
    webhook = _load(db, principal, webhook_id)
    url = _target(body.url, settings) if body.url is not None else None
    store.update_webhook(db, webhook=webhook, url=url, events=body.events, active=body.active)
    db.commit()
    return webhook_out(webhook)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    responses=error_responses(401, FORBIDDEN, NO_WEBHOOK, 422),
)
def delete_webhook(webhook_id: int, db: Db, principal: Manager) -> Response:
    """Delete a webhook and its delivery log; what is still queued is not sent."""
    webhook = _load(db, principal, webhook_id)
    store.delete_webhook(db, webhook=webhook)
    db.commit()
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryList,
    responses=error_responses(401, FORBIDDEN, NO_WEBHOOK, 422),
)
def list_deliveries(
    webhook_id: int,
    db: Db,
    principal: Manager,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """The webhook's delivery log, newest first: status, attempts, the last answer."""
    webhook = _load(db, principal, webhook_id)
    return DeliveryList(
        items=[
            delivery_out(d) for d in store.list_deliveries(db, webhook_id=webhook.id, limit=limit)
        ]
    )
