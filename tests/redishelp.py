"""A real Redis for the tests of several processes: a key prefix per test, or a database of its
own for a job queue, cleaned up after.

``MINA_TEST_REDIS_URL`` (``make test`` sets it and starts the server, as it does PostgreSQL;
default ``redis://127.0.0.1:6379/0``) names the server. A test that needs Redis fails when that
variable names a server that does not answer, and is skipped when it is unset and none runs at
the default address. Pub/sub channels are not per database in Redis, so the prefix, which starts
every key and channel Mina uses, is what keeps tests (and people sharing the server) apart;
Celery's queues take no prefix, so a queue gets a database that no other test uses meanwhile.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
QUEUE_DATABASES = range(1, 16)  # Redis has 16 by default; database 0 holds the claims
CLAIM_TTL_S = 3600  # a claim outlives any test, and a crashed run's claim expires


@dataclass(frozen=True)
class RedisServer:
    url: str
    prefix: str

    @property
    def env(self) -> dict[str, str]:
        return {"MINA_REDIS_URL": self.url, "MINA_REDIS_PREFIX": self.prefix}

    def keys(self) -> list[str]:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            return sorted(client.scan_iter(match=f"{self.prefix}*"))
        finally:
            client.close()


def _client() -> tuple[str, redis.Redis]:
    """The test server's URL and a client that has answered a ping (or the test is skipped or
    failed, as the module docstring says)."""
    named = os.environ.get("MINA_TEST_REDIS_URL", "")
    url = named or DEFAULT_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = f"no Redis at {url} ({exc}); `make services` starts one"
        if named:
            pytest.fail(message)
        pytest.skip(message)
    return url, client


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    url, client = _client()
    prefix = f"mina-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield RedisServer(url=url, prefix=prefix)
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def redis_queue() -> Iterator[str]:
    """The URL of a Redis database for a job queue (``MINA_QUEUE_URL``), empty, used by no
    other test while this one runs (claimed with a key in database 0), emptied after."""
    url, client = _client()
    owner = uuid.uuid4().hex
    try:
        database = next(
            (
                n
                for n in QUEUE_DATABASES
                if client.set(f"mina-test-queue-db:{n}", owner, nx=True, ex=CLAIM_TTL_S)
            ),
            None,
        )
        if database is None:
            pytest.fail(f"every Redis database for a job queue at {url} is in use")
        parts = urlsplit(url)
        queue_url = urlunsplit(parts._replace(path=f"/{database}"))
        queue = redis.Redis.from_url(queue_url)
        queue.flushdb()  # a message left by a run that crashed
        try:
            yield queue_url
        finally:
            queue.flushdb()
            queue.close()
            if client.get(f"mina-test-queue-db:{database}") == owner.encode():
                client.delete(f"mina-test-queue-db:{database}")
    finally:
        client.close()
