"""Periodic work done by one process at a time, whatever the number of processes: before each
pass a process takes (or renews) the work's lease in the ``leases`` table; the others skip the
pass. A holder that dies loses the lease when it expires, and another process takes it over.

A database lease rather than Celery beat: it needs no other process to deploy exactly once,
it works the same with the in-process runner and with Celery, and the default single server
holds every lease without noticing.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction

logger = logging.getLogger(__name__)


def new_holder() -> str:
    """A name for this process's leases, unique among processes and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """One piece of periodic work (``name``). ``held()`` before each pass: True when this
    process holds the lease for at least the next ``ttl_s * 2 / 3`` seconds. Renewed at most
    every ``ttl_s / 3``, so a pass every second costs no write per second. Blocking (the
    database): call it off the event loop."""

    def __init__(
        self, sessions: sessionmaker[Session], name: str, *, ttl_s: float, holder: str = ""
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder or new_holder()
        self._lock = threading.Lock()
        self._renewed_at: float | None = None  # monotonic time of the last renewal, if held
        self._retry_at = 0.0

    def held(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._renewed_at is not None and now - self._renewed_at < self.ttl_s / 3:
                return True
            if self._renewed_at is None and now < self._retry_at:
                return False
            try:
                with transaction(self.sessions) as session:
                    taken = store.take_lease(
                        session, name=self.name, holder=self.holder, ttl_s=self.ttl_s
                    )
            except Exception as exc:
                logger.warning("cannot take the %s lease (%s); skipping this pass", self.name, exc)
                self._renewed_at = None
                self._retry_at = now + 1.0
                return False
            if taken and self._renewed_at is None:
                logger.info("this process now does the %s work", self.name)
            self._renewed_at = now if taken else None
            self._retry_at = now + self.ttl_s / 3
            return taken

    def release(self) -> None:
        """Give the lease up (shutdown), so another process takes it over at once."""
        with self._lock:
            if self._renewed_at is None:
                return
            self._renewed_at = None
            try:
                with transaction(self.sessions) as session:
                    store.release_lease(session, name=self.name, holder=self.holder)
            except Exception as exc:
                logger.warning("cannot release the %s lease (%s)", self.name, exc)
