"""``GET /metrics``: this process's Prometheus metrics (``mina.observability.metrics``).

With ``MINA_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (401
otherwise, from anywhere). Without it, only the machine itself may scrape: a client whose
address (the real one, behind a trusted proxy: ``mina.web.proxies``) is not loopback gets 403.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mina.observability.metrics import Metrics

router = APIRouter()


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    token: str = request.app.state.settings.metrics_token
    if token:
        sent = _bearer(request)
        if sent is None or not hmac.compare_digest(sent.encode(), token.encode()):
            return PlainTextResponse(
                "401 Unauthorized: send Authorization: Bearer <MINA_METRICS_TOKEN>\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif not is_loopback(request.client.host if request.client else None):
        return PlainTextResponse(
            "403 Forbidden: metrics are served to this machine only; set MINA_METRICS_TOKEN "
            "to scrape from elsewhere\n",
            status_code=403,
        )
    registry: Metrics = request.app.state.metrics
    body = await asyncio.to_thread(registry.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
