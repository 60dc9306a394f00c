"""Live events for viewers of a meeting, published after the commit that made them true.

In-process by default: one web process serves a recording and its viewers. With
``MINA_REDIS_URL``, ``mina.cluster.events.SharedEventBus`` has the same calls and lets viewers
connect to any process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class EventBus:
    """``publish(meeting_id, event)`` and ``subscribe(meeting_id)``; call both on the event loop."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}

    def publish(self, meeting_id: int, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(meeting_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # a viewer that stopped reading loses its stream, not the recording
                logger.warning("dropping a slow viewer of meeting %s", meeting_id)
                self._subscribers[meeting_id].discard(queue)
                _close(queue)

    @contextmanager
    def subscribe(self, meeting_id: int) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(meeting_id, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(meeting_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[meeting_id]

    async def flush(self) -> None:
        """Wait until published events are on their way to every process (here: they are)."""

    def meeting_ids(self) -> list[int]:
        """The meetings this process has viewers of."""
        return list(self._subscribers)

    def subscriber_count(self, meeting_id: int) -> int:
        return len(self._subscribers.get(meeting_id, ()))


def _close(queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Replace a full queue's content with one 'overflow' event the viewer sees next."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait({"type": "error", "code": "too_slow", "message": "Viewer fell behind."})
