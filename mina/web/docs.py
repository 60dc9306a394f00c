"""``/docs``: the API reference (Swagger UI), served from the package so it works offline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER = "/static/vendor/swagger-ui"


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``; its script, styles and icon are vendored."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        oauth2_redirect_url=None,
        # no badge from the online validator: nothing is fetched from another host
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
