"""One error shape for the API (``{"error": {"code", "message"}}``), friendly pages for people."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from mina.web.security_headers import add_security_headers

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/ws/")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every API error: a stable machine-readable code and a sentence for people."""

    error: ErrorBody


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON",
    401: "Not signed in, or the API token is missing, malformed or revoked",
    403: "Forbidden: a write with the session cookie but without its X-CSRF-Token header",
    404: "Not found in your workspace (another workspace's id answers the same)",
    409: "Conflict with the object's state",
    413: "Too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid request: a parameter or the body fails validation",
}


def error_responses(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the one error shape. A
    ``(status, description)`` pair says what that status means on this route."""
    responses: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, description = item if isinstance(item, tuple) else (item, ERROR_DESCRIPTIONS[item])
        responses[status] = {"model": ErrorResponse, "description": description}
    return responses


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class NotFound(ApiError):
    def __init__(self, what: str = "Resource") -> None:
        super().__init__(404, "not_found", f"{what} not found.")


class LoginRequired(Exception):
    """Raised by page dependencies: the handler turns it into a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def error_json(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    )


def _status_code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _error_page(request: Request, status: int, message: str) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": _status_code(status).replace("_", " ").capitalize(),
            "message": message,
        },
        status_code=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if _wants_json(request):
            return error_json(exc.status, exc.code, exc.message, exc.headers)
        return _error_page(request, exc.status, exc.message)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = "Nothing lives at this address."
        if _wants_json(request):
            return error_json(exc.status_code, _status_code(exc.status_code), message, exc.headers)
        return _error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
            problems.append(
                f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", "")
            )
        message = "Invalid request: " + "; ".join(problems)
        if _wants_json(request):
            return error_json(422, "validation_error", message)
        return _error_page(request, 422, message)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. It has been logged."
        response: Response
        if _wants_json(request):
            response = error_json(500, "internal_error", message)
        else:
            response = _error_page(request, 500, message)
        # sent by Starlette's outermost middleware, past SecurityHeadersMiddleware
        add_security_headers(
            response.headers, request.scope, request.app.state.settings.secure_cookies
        )
        return response
