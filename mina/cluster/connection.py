"""Reaching Redis: the start-up check and the clients the shared pieces use."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 3.0
COMMAND_TIMEOUT_S = 5.0
# one more try at once (a pooled connection Redis closed); callers retry or fall back themselves
# rather than the client's default ten tries with growing waits
RETRIES = 1


class RedisUnavailable(RuntimeError):
    """``MINA_REDIS_URL`` is set but Redis does not answer: the server refuses to start."""


def shown_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def check_redis(url: str) -> None:
    """Ping Redis once (blocking, a few seconds at most); RedisUnavailable says why not."""
    client = sync_client(url)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise RedisUnavailable(
            f"MINA_REDIS_URL: cannot reach Redis at {shown_url(url)} ({exc}). Start Redis, "
            "or unset MINA_REDIS_URL to run a single process without it."
        ) from exc
    finally:
        client.close()


def sync_client(url: str) -> redis.Redis:
    """For request handlers that run in the thread pool (the throttles)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        retry=Retry(NoBackoff(), RETRIES),
    )


def async_client(url: str, name: str | None = None, retries: int = RETRIES) -> redis.asyncio.Redis:
    """For the event loop (events, leases); build it on the loop that uses it. ``name``
    shows in Redis's CLIENT LIST. A subscription needs ``retries=0``: a client that reconnects
    by itself would lose the messages sent meanwhile without a word."""
    return redis.asyncio.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        client_name=name,
        retry=redis.asyncio.retry.Retry(NoBackoff(), retries),
    )
