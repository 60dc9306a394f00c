"""Which process records each live recording: a lease in Redis, renewed with the heartbeat.

``SET lease:<session> <holder> PX ttl`` when a process starts a recording or resumes one
another process holds; taking it from another holder also tells that holder through pub/sub,
and it stops writing at once (``Recorder.hand_over``). A holder that missed the message finds
another holder at its next renewal and stops then. The lease routes that notice; the audio
file's lock (``mina.audiostore.AudioWriter``) is what makes two appenders impossible, and it
does not need Redis: when Redis is away, recordings go on and the lease is renewed later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

from mina.cluster.relay import Relay

logger = logging.getLogger(__name__)

CHANNEL = "leases"
CALL_TIMEOUT_S = 2.0  # a Redis that does not answer holds up no recording longer than this

# renew only our own lease; take it back if it expired meanwhile (Redis restarted, a long
# outage); 0 when another process holds it
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RecordingLeases:
    """Leases of this process (``holder``) on recordings, by session external id."""

    def __init__(
        self,
        relay: Relay,
        client: Callable[[], redis.asyncio.Redis],
        *,
        holder: str,
        ttl_s: float,
    ) -> None:
        self._relay = relay
        self._client = client
        self.holder = holder
        self._ttl_ms = max(1000, round(ttl_s * 1000))
        self._taken: Callable[[str], None] | None = None
        relay.on(CHANNEL, self._received)

    def _key(self, external_id: str) -> str:
        return f"{self._relay.prefix}lease:{external_id}"

    def on_taken(self, callback: Callable[[str], None]) -> None:
        """``callback(external_id)`` when another process takes a recording's lease."""
        self._taken = callback

    async def acquire(self, external_id: str) -> None:
        """Hold the recording from now on, telling a previous holder to let go."""
        try:
            previous = await asyncio.wait_for(
                self._client().set(self._key(external_id), self.holder, px=self._ttl_ms, get=True),
                CALL_TIMEOUT_S,
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            logger.warning("could not take the lease of recording %s (%s)", external_id, exc)
            # the other holder, if any, is still told; its file lock keeps us waiting for it
            self._relay.publish(CHANNEL, {"recording": external_id, "holder": self.holder})
            return
        if previous is not None and _text(previous) != self.holder:
            logger.info("took recording %s over from %s", external_id, _text(previous))
            self._relay.publish(CHANNEL, {"recording": external_id, "holder": self.holder})

    async def renew(self, external_id: str) -> bool:
        """False only when another process holds the recording now (Redis away: True)."""
        try:
            kept = await asyncio.wait_for(
                self._client().eval(_RENEW, 1, self._key(external_id), self.holder, self._ttl_ms),
                CALL_TIMEOUT_S,
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            logger.warning("could not renew the lease of recording %s (%s)", external_id, exc)
            return True
        return bool(kept)

    async def release(self, external_id: str) -> None:
        try:
            await asyncio.wait_for(
                self._client().eval(_RELEASE, 1, self._key(external_id), self.holder),
                CALL_TIMEOUT_S,
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            logger.warning("could not release the lease of recording %s (%s)", external_id, exc)

    def _received(self, body: dict[str, Any]) -> None:
        recording, holder = body.get("recording"), body.get("holder")
        if isinstance(recording, str) and holder != self.holder and self._taken is not None:
            self._taken(recording)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
