"""Running behind a reverse proxy: which addresses are trusted to say who the client is, and
what origin a browser's request comes from.

``ForwardedHeaders`` wraps uvicorn's ``ProxyHeadersMiddleware`` (``X-Forwarded-For`` and
``X-Forwarded-Proto``, honoured only from ``MINA_TRUSTED_PROXIES``), and adds, from those same
proxies only: RFC 7239 ``Forwarded`` (translated to the ``X-Forwarded-*`` headers when those are
absent) and the forwarded host, kept in the scope for the WebSocket origin check. A client that
is not a trusted proxy cannot change its address, scheme or host by sending these headers.

``origin_allowed`` decides whether a cookie-authenticated WebSocket's ``Origin`` is ours:
``MINA_PUBLIC_URL`` (and ``MINA_ALLOWED_ORIGINS``) when set, else the request's own origin,
comparing scheme, host and port after normalising default ports."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

logger = logging.getLogger(__name__)

FORWARDED_HOST = "mina.forwarded_host"
DEFAULT_PORTS = {"http": 80, "https": 443}


class ForwardedHeaders:
    def __init__(self, app: ASGIApp, trusted_proxies: str) -> None:
        self.proxy = ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and client[0] in self.proxy.trusted_hosts:
                _apply_forwarded(scope)
                scope[FORWARDED_HOST] = _header(scope, b"x-forwarded-host")
            else:
                scope[FORWARDED_HOST] = None
        await self.proxy(scope, receive, send)  # type: ignore[arg-type]


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header (the one the proxy nearest the client set first)."""
    for key, value in scope["headers"]:
        if key == name:
            first = value.decode("latin1").split(",")[0].strip()
            return first or None
    return None


def _apply_forwarded(scope: Scope) -> None:
    """RFC 7239 ``Forwarded: for=...;proto=...;host=...`` as the X-Forwarded-* headers uvicorn
    reads, unless the proxy sent those itself."""
    forwarded = _header_all(scope, b"forwarded")
    if not forwarded:
        return
    names = {key for key, _ in scope["headers"]}
    fors: list[str] = []
    proto = host = None
    for element in forwarded.split(","):
        for pair in element.split(";"):
            key, _, value = pair.strip().partition("=")
            value = value.strip().strip('"')
            key = key.strip().lower()
            if key == "for" and value:
                fors.append(value[1:].split("]")[0] if value.startswith("[") else value)
            elif key == "proto" and proto is None and value:
                proto = value.lower()
            elif key == "host" and host is None and value:
                host = value
    added = []
    if fors and b"x-forwarded-for" not in names:
        added.append((b"x-forwarded-for", ", ".join(fors).encode("latin1")))
    if proto and b"x-forwarded-proto" not in names:
        added.append((b"x-forwarded-proto", proto.encode("latin1")))
    if host and b"x-forwarded-host" not in names:
        added.append((b"x-forwarded-host", host.encode("latin1")))
    if added:
        scope["headers"] = [*scope["headers"], *added]


def _header_all(scope: Scope, name: bytes) -> str:
    return ", ".join(value.decode("latin1") for key, value in scope["headers"] if key == name)


# --- origins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme)
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` (a URL's path is ignored) as an Origin; None when it is not
    an http(s) origin (``null``, another scheme, no host, a bad port)."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return Origin(scheme, parts.hostname.lower(), port)


def request_origin(scheme: str, host_header: str) -> Origin | None:
    """The origin a request was made to: its scheme (``ws``/``wss`` read as ``http``/``https``)
    and the host it names (``Host``, or a trusted proxy's forwarded host)."""
    web_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return parse_origin(f"{web_scheme}://{host_header}")


def origin_allowed(
    origin: str,
    *,
    scheme: str,
    host: str,
    forwarded_host: str | None,
    public_url: str = "",
    allowed: Iterable[str] = (),
) -> bool:
    """Whether a browser at ``origin`` may open a cookie-authenticated socket here. With
    ``public_url`` the allowed origins are it and ``allowed``; without, the request's own origin
    (from the trusted proxy's forwarded host when there is one) and ``allowed``. A refusal is
    logged with both sides, so an operator can see the mismatch."""
    seen = parse_origin(origin)
    wanted = {o for o in (parse_origin(a) for a in allowed) if o is not None}
    if public_url:
        public = parse_origin(public_url)
        if public is not None:
            wanted.add(public)
    else:
        own = request_origin(scheme, forwarded_host or host)
        if own is not None:
            wanted.add(own)
    if seen is not None and seen in wanted:
        return True
    logger.warning(
        "WebSocket refused: Origin %r is not %s (Host %r, forwarded host %r, scheme %s); set "
        "MINA_PUBLIC_URL to the address people use, or add the origin to MINA_ALLOWED_ORIGINS",
        origin,
        " or ".join(sorted(str(w) for w in wanted)) or "any allowed origin",
        host,
        forwarded_host,
        scheme,
    )
    return False


def public_base(public_url: str, request_base: str) -> str:
    """Where absolute links point: MINA_PUBLIC_URL, else the address the request came to."""
    return (public_url or request_base).rstrip("/")
