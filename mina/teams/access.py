"""Taking access away at once: a removed member's open sockets in that workspace are closed.

A viewer socket ``watch``es its (user, workspace) pair while it relays a live meeting; removing
the member calls ``revoke`` (from any thread), which sets the watchers' events on their own
event loops. One process's sockets: with ``MINA_REDIS_URL``,
``mina.cluster.access.SharedRevocations`` tells the other web processes too."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AccessRevocations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: dict[tuple[int, int], set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]]
        self._watchers = {}

    @contextmanager
    def watch(self, user_id: int, workspace_id: int) -> Iterator[asyncio.Event]:
        """An event set when the user loses access to the workspace (call on the event loop)."""
        key = (user_id, workspace_id)
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._watchers.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                watchers = self._watchers.get(key)
                if watchers is not None:
                    watchers.discard(entry)
                    if not watchers:
                        del self._watchers[key]

    def revoke(self, user_id: int, workspace_id: int) -> int:
        """Tell every socket of the user in the workspace to close; how many were told."""
        with self._lock:
            watchers = list(self._watchers.get((user_id, workspace_id), ()))
        for loop, event in watchers:
            loop.call_soon_threadsafe(event.set)
        return len(watchers)
