"""One process's Redis publish/subscribe: what it tells the others, and what they tell it.

Messages go out in the order they were published, from one task on one connection, so each
subscriber sees one process's messages in that order. One subscription hands every message to
its channel's handler on the event loop. A lost connection is logged and retried, never raised
into the callers: live recordings never depend on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio

from mina.cluster.connection import async_client, shown_url

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]

OUTBOX_SIZE = 10_000
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between tries after a lost connection
# the socket read of the subscription: a message or a keepalive check at least this often
LISTEN_TIMEOUT_S = 10.0


class Relay:
    """``publish(channel, body)`` to the other processes; ``on(channel, handler)`` for theirs.

    A process never receives its own messages (each carries its ``origin``): it delivers them
    locally itself. ``on_reconnect`` callbacks run when a subscription that was lost is back,
    because messages sent meanwhile are gone."""

    def __init__(self, url: str, prefix: str, *, origin: str) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = origin
        self._handlers: dict[str, Handler] = {}
        self._reconnected: list[Callable[[], None]] = []
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(OUTBOX_SIZE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._client: redis.asyncio.Redis | None = None
        self._last_warning = 0.0

    def channel(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def on(self, name: str, handler: Handler) -> None:
        self._handlers[self.channel(name)] = handler

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        self._reconnected.append(callback)

    # -- sending ------------------------------------------------------------------------------

    def publish(self, name: str, body: dict[str, Any]) -> None:
        """Queue a message for the other processes (call on the event loop; never blocks)."""
        data = json.dumps({"origin": self.origin, "body": body}, separators=(",", ":"))
        try:
            self._outbox.put_nowait((self.channel(name), data))
        except asyncio.QueueFull:
            dropped = self._outbox.get_nowait()
            self._outbox.put_nowait((self.channel(name), data))
            self._warn("Redis outbox full: dropped a message on %s", dropped[0])

    def publish_threadsafe(self, name: str, body: dict[str, Any]) -> None:
        """``publish`` from a request handler's thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            logger.warning("Redis relay not running: %s message not sent", name)
            return
        loop.call_soon_threadsafe(self.publish, name, body)

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait (a while at most) until every queued message is sent."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), timeout_s)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, timeout_s: float = 5.0) -> None:
        """Connect and subscribe (waiting a few seconds at most, then going on retrying)."""
        self._loop = asyncio.get_running_loop()
        # bound to this loop (a test may serve the same app again on another one)
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        self._subscribed = asyncio.Event()
        self._client = async_client(self.url, name=f"mina:{self.origin}", retries=0)
        self._tasks = [
            asyncio.create_task(self._send_forever(self._client), name="redis publish"),
            asyncio.create_task(self._listen_forever(self._client), name="redis subscribe"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)

    async def stop(self) -> None:
        await self.flush(timeout_s=2.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    # -- loops --------------------------------------------------------------------------------

    async def _send_forever(self, client: redis.asyncio.Redis) -> None:
        failures = 0
        while True:
            channel, data = await self._outbox.get()
            while True:
                try:
                    await client.publish(channel, data)
                except (redis.RedisError, OSError) as exc:
                    self._warn("could not publish to Redis (%s); retrying", exc)
                    await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                    failures += 1
                    continue
                if failures:
                    logger.info("publishing to Redis again")
                failures = 0
                self._outbox.task_done()
                break

    async def _listen_forever(self, client: redis.asyncio.Redis) -> None:
        failures, lost = 0, False
        while True:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._handlers)
                if lost:
                    logger.info("subscribed to Redis again at %s", shown_url(self.url))
                    for callback in self._reconnected:
                        callback()
                failures, lost = 0, False
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(timeout=LISTEN_TIMEOUT_S)
                    if message is None:
                        await pubsub.ping()  # a silent, half-open connection shows itself
                        continue
                    self._dispatch(message)
            except (redis.RedisError, OSError) as exc:
                lost = lost or self._subscribed.is_set()
                self._subscribed.clear()
                self._warn("lost the Redis subscription (%s); retrying", exc)
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        handler = self._handlers.get(channel)
        try:
            parsed = json.loads(message["data"])
            if not isinstance(parsed, dict) or parsed.get("origin") == self.origin:
                return
            body = parsed["body"]
            if handler is not None and isinstance(body, dict):
                handler(body)
        except Exception:
            logger.exception("could not handle a Redis message on %s", channel)

    def _warn(self, message: str, *args: Any) -> None:
        """A warning at most every few seconds: a Redis outage must not flood the log."""
        now = time.monotonic()
        if now - self._last_warning >= 5.0:
            self._last_warning = now
            logger.warning(message, *args)
