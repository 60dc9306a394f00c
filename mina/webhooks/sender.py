"""The sender: a thread of the server process that POSTs the queued webhook deliveries.

Deliveries are rows (``webhook_deliveries``), so a restart loses none: every ``poll_s`` the
sender of the process holding the ``webhooks`` lease (one of several) takes the due ones, each
claimed with a lease (its next attempt moved past the attempt's timeout) so two servers never
send the same attempt and one that dies mid-attempt leaves it to be retried. A 2xx answer
delivers it; anything else (another status, a timeout, a refused connection) retries it after
``base_s``, twice that, ... at most ``cap_s`` apart, until ``window_s`` after the event, when
it fails. ``RetryPolicy`` is a plain dataclass so tests shrink the times.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from mina import __version__, store
from mina.db import transaction
from mina.jobs.leases import Lease
from mina.models import DeliveryStatus, utcnow
from mina.settings import Settings
from mina.threads import ServiceThreads
from mina.webhooks.signing import sign_body
from mina.webhooks.targets import TargetRefused, check_target

logger = logging.getLogger(__name__)

USER_AGENT = f"Mina-Webhooks/{__version__}"
RESPONSE_MAX = 500  # characters of an answer kept in the delivery log


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a delivery again, and for how long."""

    base_s: float = 30.0  # the first retry; each next one waits twice as long ...
    cap_s: float = 3600.0  # ... but never more than this
    window_s: float = 24 * 3600.0  # after this long since the event, it has failed
    timeout_s: float = 10.0  # one attempt, connecting and answering
    poll_s: float = 1.0  # how often the table is read for due deliveries
    lease_s: float = 60.0  # an attempt's claim; longer than timeout_s

    def delay_s(self, attempts: int) -> float:
        """How long to wait after the ``attempts``-th failed attempt."""
        return float(min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class _Attempt:
    """What one attempt needs, read in the claim's transaction."""

    id: int
    delivery_id: str
    event: str
    attempts: int
    created_at: datetime
    url: str
    secret: str
    body: bytes
    active: bool


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    status_code: int | None = None
    error: str | None = None
    response: str | None = None


@dataclass
class WebhookSender:
    """Sends due deliveries from a thread; ``start`` and ``stop`` pair up like
    ``JobRunner``'s (several lifespans of one app in tests)."""

    sessions: sessionmaker[Session]
    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # with several processes, the one holding this lease sends (None: this one always does)
    lease: Lease | None = None
    _threads: ServiceThreads = field(
        default_factory=lambda: ServiceThreads("the webhook sender"), init=False
    )

    @property
    def _stopping(self) -> threading.Event:
        return self._threads.stopping

    def start(self) -> None:
        self._threads.start(lambda: {"webhooks": self._run})

    def stop(self, timeout_s: float = 15.0) -> None:
        """Blocking: call it off the event loop."""
        if self._threads.stop(timeout_s) and self.lease is not None:
            self.lease.release()

    def _run(self) -> None:
        with httpx.Client(
            timeout=self.policy.timeout_s,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            while not self._stopping.is_set():
                try:
                    if self.lease is None or self.lease.held():
                        self.send_due(client)
                except Exception as exc:
                    logger.warning("cannot send webhooks (%s); retrying", exc)
                self._stopping.wait(self.policy.poll_s)

    def send_due(self, client: httpx.Client) -> int:
        """Attempt every delivery that is due now; how many were attempted."""
        sent = 0
        while not self._stopping.is_set():
            with transaction(self.sessions) as session:
                due = store.list_due_deliveries(session, now=utcnow())
            if not due:
                return sent
            for delivery_id in due:
                if self._stopping.is_set():
                    break
                attempt = self._claim(delivery_id)
                if attempt is not None:
                    self._finish(attempt, self._send(client, attempt))
                    sent += 1
        return sent

    def _claim(self, delivery_id: int) -> _Attempt | None:
        now = utcnow()
        with transaction(self.sessions) as session:
            delivery = store.claim_delivery(
                session,
                delivery_id=delivery_id,
                now=now,
                lease_until=now + timedelta(seconds=self.policy.lease_s),
            )
            if delivery is None:
                return None
            webhook = store.load_webhook(session, webhook_id=delivery.webhook_id)
            if webhook is None:
                return None
            document: dict[str, Any] = {
                "event": delivery.event,
                "delivered_at": now.isoformat(),
                "workspace_id": webhook.workspace_id,
                **absolute_links(delivery.payload, self.settings.public_url),
            }
            return _Attempt(
                id=delivery.id,
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                attempts=delivery.attempts,
                created_at=delivery.created_at,
                url=webhook.url,
                secret=webhook.secret,
                body=json.dumps(document, separators=(",", ":")).encode(),
                active=webhook.active,
            )

    def _send(self, client: httpx.Client, attempt: _Attempt) -> Outcome:
        """One POST; never raises."""
        if not attempt.active:
            return Outcome(DeliveryStatus.FAILED, error="The webhook was turned off.")
        try:
            check_target(attempt.url, allow_private=self.settings.webhook_allow_private)
        except TargetRefused as exc:
            return Outcome(DeliveryStatus.FAILED, error=str(exc))
        headers = {
            "Content-Type": "application/json",
            "X-Mina-Event": attempt.event,
            "X-Mina-Delivery": attempt.delivery_id,
            "X-Mina-Signature": sign_body(attempt.secret, attempt.body),
        }
        try:
            with client.stream("POST", attempt.url, content=attempt.body, headers=headers) as r:
                text = _first_chars(r)
                code = r.status_code
        except httpx.HTTPError as exc:
            return Outcome(DeliveryStatus.QUEUED, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= code < 300:
            return Outcome(DeliveryStatus.DELIVERED, status_code=code, response=text)
        return Outcome(DeliveryStatus.QUEUED, status_code=code, error=f"HTTP {code}", response=text)

    def _finish(self, attempt: _Attempt, outcome: Outcome) -> None:
        """Record the attempt; a failed one is retried later, or fails past the window."""
        next_at = None
        status = outcome.status
        error = outcome.error
        if status is DeliveryStatus.QUEUED:
            next_at = utcnow() + timedelta(seconds=self.policy.delay_s(attempt.attempts))
            if next_at > attempt.created_at + timedelta(seconds=self.policy.window_s):
                status = DeliveryStatus.FAILED
                error = f"{error}; no success within {_span(self.policy.window_s)}, given up"
                next_at = None
        with transaction(self.sessions) as session:
            store.record_attempt(
                session,
                delivery_id=attempt.id,
                status=status,
                status_code=outcome.status_code,
                error=error,
                response=outcome.response,
                next_attempt_at=next_at,
            )
        host = urlsplit(attempt.url).hostname
        logger.info(
            "webhook delivery %s (%s) to %s: attempt %d, %s%s",
            attempt.delivery_id,
            attempt.event,
            host,
            attempt.attempts,
            status.value,
            f" ({error})" if error else "",
        )


def absolute_links(payload: dict[str, Any], public_url: str) -> dict[str, Any]:
    """The payload with every ``url`` that is a path (``/dashboard/meeting/7``) made absolute
    with MINA_PUBLIC_URL; unchanged without it (a receiver then joins it to Mina's address)."""
    if not public_url:
        return payload
    done: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict):
            done[key] = absolute_links(value, public_url)
        elif key == "url" and isinstance(value, str) and value.startswith("/"):
            done[key] = public_url.rstrip("/") + value
        else:
            done[key] = value
    return done


def _first_chars(response: httpx.Response, limit: int = RESPONSE_MAX) -> str:
    """The start of the answer's body, without reading more than needed."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit * 4:
            break
    return data.decode("utf-8", "replace")[:limit]


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    return f"{seconds:g} s"
