"""What several web processes share through Redis (``MINA_REDIS_URL``): live events, who owns
each recording, the login throttle, the share-link rate limit and access revocations.

``shared_state(settings)`` picks the implementations: unset, the in-process ones (one process
serves everything, no other service); set, the Redis-backed ones, which extend them.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

import redis.asyncio

from mina.cluster.access import SharedRevocations
from mina.cluster.connection import RedisUnavailable, async_client, check_redis, sync_client
from mina.cluster.events import SharedEventBus
from mina.cluster.leases import RecordingLeases
from mina.cluster.limits import SharedLoginThrottle, SharedRequestLimiter
from mina.cluster.relay import Relay
from mina.live.events import EventBus
from mina.security import LoginThrottle
from mina.settings import Settings
from mina.sharing.limits import RequestLimiter
from mina.teams.access import AccessRevocations

__all__ = ["RecordingLeases", "RedisUnavailable", "SharedState", "shared_state"]


@dataclass
class SharedState:
    """The pieces a web process shares with the others (or keeps, when it is alone)."""

    bus: EventBus
    login_throttle: LoginThrottle
    share_limiter: RequestLimiter
    access: AccessRevocations
    leases: RecordingLeases | None = None
    relay: Relay | None = None
    _client: redis.asyncio.Redis | None = None

    async def start(self) -> None:
        if self.relay is not None:
            await self.relay.start()

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def redis(self) -> redis.asyncio.Redis:
        """The event loop's client (made on first use, on the loop that serves)."""
        assert self.relay is not None, "no MINA_REDIS_URL"
        if self._client is None:
            self._client = async_client(self.relay.url)
        return self._client


def shared_state(settings: Settings) -> SharedState:
    """In-process pieces, or with ``MINA_REDIS_URL`` Redis-backed ones (Redis must answer:
    RedisUnavailable otherwise, so a misconfigured process refuses to start)."""
    if not settings.redis_url:
        return SharedState(
            bus=EventBus(),
            login_throttle=LoginThrottle(limit=settings.login_attempts_per_minute),
            share_limiter=RequestLimiter(limit=settings.share_requests_per_minute),
            access=AccessRevocations(),
        )
    check_redis(settings.redis_url)
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    relay = Relay(settings.redis_url, settings.redis_prefix, origin=holder)
    client = sync_client(settings.redis_url)
    state = SharedState(
        bus=SharedEventBus(relay),
        login_throttle=SharedLoginThrottle(
            client, settings.redis_prefix, limit=settings.login_attempts_per_minute
        ),
        share_limiter=SharedRequestLimiter(
            client, settings.redis_prefix, limit=settings.share_requests_per_minute
        ),
        access=SharedRevocations(relay),
        relay=relay,
    )
    state.leases = RecordingLeases(relay, state.redis, holder=holder, ttl_s=settings.stale_after_s)
    return state
