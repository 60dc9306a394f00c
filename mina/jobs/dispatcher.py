"""The web processes' side of the Celery queue: ``enqueue`` and the jobs table, sent to the
broker.

Every job with a row is sent by a thread that reads the ``jobs`` table: at once when
``enqueue`` wakes it, and every ``POLL_S`` for the jobs that a transaction queued (the
post-meeting jobs). Sending a row is taken with one atomic UPDATE of its ``sent_at``, so of
several web processes exactly one sends it. A row is sent again when its message may have been
lost: still queued ``RESEND_AFTER_S`` after it was sent (the broker lost it), or running with a
worker heartbeat older than ``MINA_STALE_AFTER_S`` (its worker died). The worker's claim of the
row (``store.claim_job_delivery``) makes a duplicate message harmless. Jobs without a row (the
playback copy of a recording) are sent as they come. When the broker is down, rows stay queued
and are sent once it answers.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import timedelta

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.jobs.broker import TASK_NAME, create_celery, queue_for, safe_url
from mina.jobs.registry import check_job_name
from mina.models import utcnow
from mina.settings import Settings
from mina.threads import ServiceThreads

logger = logging.getLogger(__name__)

POLL_S = 1.0
RESEND_AFTER_S = 600.0
RETRY_S = 5.0  # after the broker or the database failed
STOP_TIMEOUT_S = 15.0


class CeleryDispatcher:
    """Sends jobs to Celery workers; ``start``/``stop`` pair up like ``JobRunner``'s."""

    def __init__(self, *, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.celery: Celery = create_celery(settings)
        self._threads = ServiceThreads("the job dispatcher")
        self._stopping = self._threads.stopping
        self._wake = threading.Event()
        self._loose: queue.Queue[tuple[str, dict[str, int]]] = queue.Queue()

    def start(self) -> None:
        self._threads.start(lambda: {"job-dispatch": self._run})

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Blocking: call it off the event loop. Unsent rows stay queued for another process."""
        self._threads.stop(timeout_s, wake=self._wake.set)

    def enqueue(self, job_name: str, **ids: int) -> None:
        """Send ``job_name`` to the workers soon. Returns at once (safe on the event loop);
        ``LookupError`` for an unknown job."""
        check_job_name(job_name)
        if "job_id" not in ids:
            self._loose.put((job_name, dict(ids)))
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._send_loose()
                self._send_table()
            except Exception as exc:
                logger.warning(
                    "cannot send jobs to %s (%s); they stay queued and are sent again",
                    safe_url(self.settings.queue_url),
                    exc,
                )
                self._stopping.wait(RETRY_S)
                continue
            self._wake.wait(POLL_S)

    def _send(self, job_name: str, ids: dict[str, int]) -> None:
        self.celery.send_task(TASK_NAME, args=[job_name, ids], queue=queue_for(job_name))

    def _send_loose(self) -> None:
        while True:
            try:
                job_name, ids = self._loose.get_nowait()
            except queue.Empty:
                return
            try:
                self._send(job_name, ids)
            except Exception:
                self._loose.put((job_name, ids))  # tried again after the pause
                raise

    def _send_table(self) -> None:
        now = utcnow()
        cutoffs = {
            "resend_before": now - timedelta(seconds=RESEND_AFTER_S),
            "stale_before": now - timedelta(seconds=self.settings.stale_after_s),
        }
        with transaction(self.sessions) as session:
            due = store.list_jobs_to_send(
                session,
                resend_before=cutoffs["resend_before"],
                stale_before=cutoffs["stale_before"],
            )
        for job_id, job_name in due:
            if self._stopping.is_set():
                return
            with transaction(self.sessions) as session:
                if not store.mark_job_sent(
                    session,
                    job_id=job_id,
                    resend_before=cutoffs["resend_before"],
                    stale_before=cutoffs["stale_before"],
                ):
                    continue  # another web process sends it
            try:
                self._send(job_name, {"job_id": job_id})
            except Exception:
                with transaction(self.sessions) as session:
                    store.unmark_job_sent(session, job_id=job_id)
                raise
            logger.debug("job %s (%s) sent to the %s queue", job_id, job_name, queue_for(job_name))
