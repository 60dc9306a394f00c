"""The security headers every response carries.

A Content-Security-Policy whose ``script-src`` admits this origin's files and a nonce drawn
afresh for each response (the only inline scripts are the import maps, which carry it); a
Permissions-Policy that lets this origin alone use the microphone and screen capture;
Strict-Transport-Security on https requests; and the classic hardening headers. ``/docs``
(Swagger UI, a vendored bundle) gets a policy of its own: the same, plus the ``data:`` images
its stylesheet uses. Share links (``/s/...``) also tell search engines to stay away and send no
Referer, so their token never leaves in one.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mina.web.cookies import SecureCookies, is_https

NONCE_STATE_KEY = "csp_nonce"
NONCE_PLACEHOLDER = "{nonce}"

# Directive by directive; the README's "Security headers" section says why each one is there.
PAGE_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": f"'self' 'nonce-{NONCE_PLACEHOLDER}'",
    "style-src": "'self'",
    "img-src": "'self'",
    "media-src": "'self'",
    "connect-src": "'self'",
    "font-src": "'self'",
    "worker-src": "'none'",
    "frame-src": "'none'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
DOCS_POLICY: dict[str, str] = {**PAGE_POLICY, "img-src": "'self' data:"}
DOCS_PATH = "/docs"

PERMISSIONS_POLICY = ", ".join(
    [
        "microphone=(self)",
        "display-capture=(self)",
        "camera=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "accelerometer=()",
        "gyroscope=()",
        "magnetometer=()",
    ]
)
HSTS = "max-age=31536000"
SHARED_PREFIX = "/s/"
SHARED_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def format_policy(directives: dict[str, str], nonce: str) -> str:
    """The header value of a policy, with this response's nonce filled in."""
    return "; ".join(
        f"{name} {value.replace(NONCE_PLACEHOLDER, nonce)}" for name, value in directives.items()
    )


def request_nonce(scope: Scope) -> str:
    """The nonce of this request's policy, drawn on first use and kept in its state."""
    state = scope.setdefault("state", {})
    if NONCE_STATE_KEY not in state:
        state[NONCE_STATE_KEY] = secrets.token_urlsafe(16)
    nonce: str = state[NONCE_STATE_KEY]
    return nonce


def csp_nonce(request: Request) -> str:
    """The nonce for the inline scripts a template must have (its import map)."""
    return request_nonce(request.scope)


def add_security_headers(headers: MutableHeaders, scope: Scope, secure: SecureCookies) -> None:
    """Add the security headers for this request to its response's; a header already set is
    kept."""
    policy = DOCS_POLICY if scope["path"] == DOCS_PATH else PAGE_POLICY
    shared = SHARED_HEADERS if scope["path"].startswith(SHARED_PREFIX) else {}
    for name, value in {**STATIC_HEADERS, **shared}.items():
        headers.setdefault(name, value)
    headers.setdefault("Content-Security-Policy", format_policy(policy, request_nonce(scope)))
    if is_https(scope, secure):
        headers.setdefault("Strict-Transport-Security", HSTS)


class SecurityHeadersMiddleware:
    """Adds the security headers to every http response. (A crash's 500 page leaves through
    Starlette's outermost middleware instead, past this one: its handler adds them itself.)"""

    def __init__(self, app: ASGIApp, *, secure: SecureCookies) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_nonce(scope)  # drawn before the app sees (and may copy) the scope

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), scope, self.secure)
            await send(message)

        await self.app(scope, receive, send_wrapper)
