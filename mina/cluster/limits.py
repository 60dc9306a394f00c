"""The login throttle and the share-link rate limit, counted in Redis for every web process.

A fixed one-minute window per key (a Lua script: count, expire with the window, refuse past the
limit), so failed logins on any process add up. Request handlers run in the thread pool, so
these are blocking calls. If Redis does not answer, each process counts by itself again (the
in-process classes these extend) and says so in the log, rather than refusing every login.
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis

from mina.security import LoginThrottle
from mina.sharing.limits import RequestLimiter

logger = logging.getLogger(__name__)

# KEYS[1]: the counter; ARGV: limit, window ms, count (1) or only look (0).
# Returns 0 when allowed (and counted), else the milliseconds until the window ends.
_HIT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    left = tonumber(ARGV[2])
  end
  return left
end
if ARGV[3] == '1' then
  if redis.call('INCR', KEYS[1]) == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
end
return 0
"""
# count a failure whatever the count already is (the login throttle counts every failure)
_COUNT = """
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0
"""


class _Fallback:
    """Logs once a minute at most that Redis is away and this process counts alone."""

    def __init__(self) -> None:
        self._last = 0.0

    def note(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last >= 60:
            self._last = now
            logger.warning("%s: Redis did not answer (%s); counting in this process", what, exc)


def _digest(value: str) -> str:
    """Keys name no email or address in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _seconds(milliseconds: int) -> int:
    return max(1, -(-milliseconds // 1000))


class SharedLoginThrottle(LoginThrottle):
    """``LoginThrottle`` with its counts in Redis (fixed windows of ``window_s``)."""

    def __init__(self, client: redis.Redis, prefix: str, *, limit: int, window_s: float = 60.0):
        super().__init__(limit=limit, window_s=window_s)
        self._redis = client
        self._prefix = prefix
        self._window_ms = round(window_s * 1000)
        self._fallback = _Fallback()

    def _redis_keys(self, email: str, address: str) -> list[str]:
        return [f"{self._prefix}login:{_digest(key)}" for key in self._keys(email, address)]

    def retry_after(self, email: str, address: str) -> int:
        try:
            waits = [
                int(self._redis.eval(_HIT, 1, key, self.limit, self._window_ms, 0))
                for key in self._redis_keys(email, address)
            ]
        except (redis.RedisError, OSError) as exc:
            self._fallback.note("login throttle", exc)
            return super().retry_after(email, address)
        return _seconds(max(waits)) if max(waits) else 0

    def record_failure(self, email: str, address: str) -> None:
        try:
            for key in self._redis_keys(email, address):
                self._redis.eval(_COUNT, 1, key, self._window_ms)
        except (redis.RedisError, OSError) as exc:
            self._fallback.note("login throttle", exc)
            super().record_failure(email, address)

    def record_success(self, email: str) -> None:
        try:
            self._redis.delete(self._redis_keys(email, "")[0])
        except (redis.RedisError, OSError) as exc:
            self._fallback.note("login throttle", exc)
        super().record_success(email)


class SharedRequestLimiter(RequestLimiter):
    """``RequestLimiter`` with its counts in Redis (fixed windows of ``window_s``)."""

    def __init__(self, client: redis.Redis, prefix: str, *, limit: int, window_s: float = 60.0):
        super().__init__(limit=limit, window_s=window_s)
        self._redis = client
        self._prefix = prefix
        self._window_ms = round(window_s * 1000)
        self._fallback = _Fallback()

    def hit(self, key: str) -> int:
        try:
            wait = int(
                self._redis.eval(
                    _HIT, 1, f"{self._prefix}limit:{_digest(key)}", self.limit, self._window_ms, 1
                )
            )
        except (redis.RedisError, OSError) as exc:
            self._fallback.note("share rate limit", exc)
            return super().hit(key)
        return _seconds(wait) if wait else 0
