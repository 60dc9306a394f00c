"""The signed session cookie: a small dict on ``scope["session"]``, written back when changed.

Like Starlette's SessionMiddleware, but the Secure flag follows the request's scheme (so it is
set behind an https proxy and not on plain http://127.0.0.1), and the payload is signed with
itsdangerous and expires after ``max_age_s``.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mina.security import CookieSigner

COOKIE_NAME = "mina_session"

SecureCookies = Literal["auto", "always", "never"]  # MINA_SECURE_COOKIES


def is_https(scope: Scope, secure: SecureCookies) -> bool:
    """Whether this request came over https, as far as the site knows: its scheme (which
    follows ``X-Forwarded-Proto`` from a trusted proxy), unless MINA_SECURE_COOKIES says
    ``always`` or ``never``. The Secure cookie flag and Strict-Transport-Security follow it."""
    return secure == "always" or (secure == "auto" and scope["scheme"] == "https")


class TrackedDict(dict[str, Any]):
    """A dict that remembers whether it was changed."""

    changed = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.changed = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changed = True
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.changed = True
        return super().pop(key, *default)

    def clear(self) -> None:
        self.changed = True
        super().clear()


def read_session_cookie(signer: CookieSigner, cookie_header: str | None) -> dict[str, Any]:
    """Decode the session from a raw Cookie header; an empty dict when absent or tampered."""
    if not cookie_header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return {}
    morsel = jar.get(COOKIE_NAME)
    if morsel is None:
        return {}
    return signer.loads(morsel.value) or {}


class SessionCookieMiddleware:
    def __init__(self, app: ASGIApp, *, signer: CookieSigner, secure: SecureCookies) -> None:
        self.app = app
        self.signer = signer
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw = headers.get(b"cookie", b"").decode("latin-1")
        session = TrackedDict(read_session_cookie(self.signer, raw))
        had_cookie = bool(session)
        scope["session"] = session
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                response_headers = MutableHeaders(scope=message)
                if session:
                    value = self.signer.dumps(dict(session))
                    response_headers.append(
                        "Set-Cookie", self._cookie(scope, value, self.signer.max_age_s)
                    )
                elif had_cookie:
                    response_headers.append("Set-Cookie", self._cookie(scope, "", 0))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _cookie(self, scope: Scope, value: str, max_age: int) -> str:
        parts = [
            f"{COOKIE_NAME}={value}",
            "Path=/",
            f"Max-Age={max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if is_https(scope, self.secure):
            parts.append("Secure")
        return "; ".join(parts)
