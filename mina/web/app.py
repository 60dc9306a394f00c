"""``create_app(settings)``: the one place the web application is assembled."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mina import __version__
from mina.db import create_db_engine, create_session_factory
from mina.security import CookieSigner, LoginThrottle
from mina.settings import Settings
from mina.web import api, auth, pages
from mina.web.cookies import SessionCookieMiddleware
from mina.web.errors import install_error_handlers
from mina.web.rendering import create_templates

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
access_logger = logging.getLogger("mina.access")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class AccessLogMiddleware:
    """One line per request at info level, with the status and the time taken; security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            client = scope.get("client") or ("-", 0)
            access_logger.info(
                "%s %s %s %d %.1fms",
                client[0],
                scope["method"],
                scope["path"],
                status,
                elapsed_ms,
            )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for these settings. Nothing is created at import time."""
    settings = settings or Settings()
    settings.prepare_data_dir()
    engine = create_db_engine(settings.sqlalchemy_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Mina",
        version=__version__,
        description="Self-hosted live meeting transcription. Authenticate with "
        "`Authorization: Bearer TOKEN` (create tokens on /settings or with `mina token create`).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = create_session_factory(engine)
    app.state.templates = create_templates()
    app.state.login_throttle = LoginThrottle(limit=settings.login_attempts_per_minute)
    signer = CookieSigner(settings.resolved_secret_key(), settings.session_max_age_days * 86400)
    app.state.cookie_signer = signer

    install_error_handlers(app)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SessionCookieMiddleware, signer=signer, secure=settings.secure_cookies)
    app.add_middleware(AccessLogMiddleware)
    return app
