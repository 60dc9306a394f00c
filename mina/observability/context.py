"""Who a log line is about: the request, meeting and recording in progress, as context variables.

``RequestIds`` (a pure ASGI middleware) gives every HTTP request and WebSocket an id, taken from
a well-formed ``X-Request-ID`` header (a proxy's own id, so its log and Mina's line up) or drawn
at random, and answers it in ``X-Request-ID``. The recording socket and the recorder bind the
meeting and the recording session (``bind_recording``); asyncio tasks inherit what was bound
where they were created, and ``recording_context`` gives a recorder's own tasks their ids (and
no request's id: a recording outlives the connection that started it).
"""

from __future__ import annotations

import contextvars
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mina_request_id", default=None
)
meeting_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "mina_meeting_id", default=None
)
session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mina_session_id", default=None
)

HEADER = b"x-request-id"
# ids a proxy may hand us: nginx's $request_id (32 hex), UUIDs, and similar tokens
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")


def bind_recording(*, meeting: int, session: str) -> None:
    """From here on (in this task and the tasks it creates), logs name this recording."""
    meeting_id.set(meeting)
    session_id.set(session)


def recording_context(*, meeting: int, session: str) -> contextvars.Context:
    """A context for a recording's own tasks: its meeting and session, no request."""
    context = contextvars.copy_context()
    context.run(request_id.set, None)
    context.run(bind_recording, meeting=meeting, session=session)
    return context


def current_ids() -> dict[str, int | str]:
    """The ids known here, by the names structured logs use (absent ones left out)."""
    ids: dict[str, int | str] = {}
    if (request := request_id.get()) is not None:
        ids["request_id"] = request
    if (meeting := meeting_id.get()) is not None:
        ids["meeting_id"] = meeting
    if (session := session_id.get()) is not None:
        ids["session_id"] = session
    return ids


def _incoming_id(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == HEADER:
            return value.decode("ascii") if _WELL_FORMED.match(value) else None
    return None


class RequestIds:
    """Every request and WebSocket runs with its id bound; HTTP answers carry it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ident = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(ident)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((HEADER, ident.encode("ascii")))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
