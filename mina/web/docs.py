"""``/docs``: the API reference (Swagger UI), served from the package so it works offline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

SWAGGER = "/static/vendor/swagger-ui"


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """Swagger UI over ``/openapi.json``; its script, styles and icon are vendored, and its
    settings travel in a JSON block that ``static/js/docs.js`` reads."""
    config = {
        "url": request.app.openapi_url,
        "deepLinking": True,
        "showExtensions": True,
        "showCommonExtensions": True,
        # no badge from the online validator: nothing is fetched from another host
        "validatorUrl": None,
        "persistAuthorization": True,
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "docs.html",
        {"title": f"{request.app.title} API", "swagger": SWAGGER, "config": config},
    )
