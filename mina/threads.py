"""The life cycle of a background service's daemon threads (the job runner, the job dispatcher,
the webhook sender).

An app's lifespan starts its services and stops them; in tests one app may run several
lifespans at once (a ``TestClient`` inside a live server), so ``start`` and ``stop`` pair up:
the first ``start`` starts the threads and the matching last ``stop`` stops them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

Targets = Mapping[str, Callable[[], None]]


class ServiceThreads:
    """Counted start and stop of one service's threads; ``stopping`` is set while they stop."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._starts = 0
        self._threads: list[threading.Thread] = []

    def start(self, targets: Callable[[], Targets]) -> None:
        """Start the threads ``targets()`` names (thread name -> function), on the first start
        only. ``targets`` runs then, before any thread starts: it may reset the service's state
        and may name no thread at all."""
        with self._lock:
            self._starts += 1
            if self._starts > 1:
                return
            self.stopping.clear()
            self._threads = [
                threading.Thread(target=target, name=name, daemon=True)
                for name, target in targets().items()
            ]
            for thread in self._threads:
                thread.start()

    def stop(self, timeout_s: float, *, wake: Callable[[], None] | None = None) -> bool:
        """On the last stop, set ``stopping``, call ``wake`` (to rouse threads blocked on
        something else than ``stopping``) and wait up to ``timeout_s`` in all for the threads.
        True when this call was the last stop. Blocking: call it off the event loop."""
        with self._lock:
            self._starts -= 1
            if self._starts > 0:
                return False
            self.stopping.set()
            if wake is not None:
                wake()
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("%s: thread %s did not stop in time", self.service, thread.name)
        return True
