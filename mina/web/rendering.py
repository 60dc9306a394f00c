"""Jinja2 templates served from the package, with the helpers every page uses."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from mina import __version__, exporters, store
from mina.web.deps import csrf_token, session_data
from mina.web.security_headers import csp_nonce

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def format_duration(ms: int | None) -> str:
    """``1:02:03`` or ``4:05`` for a duration in milliseconds; an en dash when unknown."""
    if ms is None:
        return "–"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_hours(ms: int | None) -> str:
    """Recorded time at a glance: ``0 h``, ``< 1 min``, ``42 min``, ``3.5 h``."""
    if not ms:
        return "0 h"
    if ms < 60_000:
        return "< 1 min"
    if ms < 3_600_000:
        return f"{ms // 60_000} min"
    return f"{ms / 3_600_000:.1f} h"


def format_clock(ms: int | None) -> str:
    """A transcript timestamp: ``mm:ss``, or ``h:mm:ss`` past the hour."""
    seconds = max(0, (ms or 0) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_time(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%H:%M")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.strftime("%d %b %Y, %H:%M UTC")


def nonce_context(request: Request) -> dict[str, Any]:
    """``csp_nonce`` in every template: the nonce its inline scripts (import maps) carry."""
    return {"csp_nonce": csp_nonce(request)}


def create_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR), context_processors=[nonce_context])
    templates.env.filters["duration"] = format_duration
    templates.env.filters["datetime"] = format_datetime
    templates.env.filters["hours"] = format_hours
    templates.env.filters["clock"] = format_clock
    templates.env.filters["time"] = format_time
    templates.env.globals["version"] = __version__
    templates.env.globals["export_formats"] = exporters.list_formats
    return templates


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A one-time message shown on the next page."""
    data = session_data(request)
    data["flash"] = [*data.get("flash", []), [kind, message]]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: store.Principal | None = None,
    status_code: int = 200,
) -> Response:
    data = session_data(request)
    messages = data.pop("flash", []) if "flash" in data else []
    workspaces: list[store.UserWorkspace] = []
    if principal is not None:  # the switcher in the top bar
        with request.app.state.sessions() as session:
            workspaces = store.list_user_workspaces(session, user_id=principal.user.id)
    full_context = {
        "principal": principal,
        "workspaces": workspaces,
        "csrf_token": csrf_token(request),
        "messages": messages,
        "active": request.url.path,
        **(context or {}),
    }
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, full_context, status_code=status_code)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
