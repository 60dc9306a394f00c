"""How often one address may call the public share routes: a sliding one-minute window.

Kept in memory, like the login throttle (``mina.security.LoginThrottle``): one process serves
the default install. With ``MINA_REDIS_URL`` the web processes count together
(``mina.cluster.limits.SharedRequestLimiter``, which extends this)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RequestLimiter:
    """At most ``limit`` requests per key (an address and a route) in ``window_s`` seconds."""

    limit: int
    window_s: float = 60.0
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> int:
        """Count a request; returns 0 when it may go ahead, else the seconds to wait (a
        refused request is not counted)."""
        now = time.monotonic()
        with self._lock:
            times = self._hits.setdefault(key, deque())
            while times and now - times[0] > self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return int(self.window_s - (now - times[0])) + 1
            times.append(now)
            if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
                idle = [k for k, v in self._hits.items() if not v or now - v[-1] > self.window_s]
                for stale in idle:
                    del self._hits[stale]
            return 0
