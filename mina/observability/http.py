"""``HttpMetrics``: requests counted by route template and status, with their latency, and
WebSocket connections counted apart (their length is a meeting's, not a latency).

A pure ASGI middleware: the router records the route it chose in ``scope["route"]``, so the
label is its template (``/api/meetings/{meeting_id}``), never the raw path with its ids;
a path no route matches counts as ``unmatched``, an unusual method as ``other``.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mina.observability.metrics import Metrics

UNMATCHED = "unmatched"
# a client chooses the method: any other is counted as "other", so labels stay a bounded set
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception escaping the app: Starlette answers 500

        async def send_watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened: str | None = None

        async def send_watched(message: Message) -> None:
            nonlocal opened
            if message["type"] == "websocket.accept" and opened is None:
                opened = route_template(scope)
                self.metrics.websocket_connections.labels(opened).inc()
                self.metrics.websockets_open.labels(opened).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        finally:
            if opened is not None:
                self.metrics.websockets_open.labels(opened).dec()
