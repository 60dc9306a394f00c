"""A real Redis for the tests of several web processes: a key prefix per test, cleaned up after.

``MINA_TEST_REDIS_URL`` (``make test`` sets it; default ``redis://127.0.0.1:6379/0``) names the
server. Pub/sub channels are not per database in Redis, so the prefix, which starts every key and
channel Mina uses, is what keeps tests (and people sharing the server) apart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis


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


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    url = os.environ.get("MINA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis at {url} ({exc}); `make services` starts one")
    prefix = f"mina-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield RedisServer(url=url, prefix=prefix)
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
