"""Behind a reverse proxy: the WebSocket origin rules, MINA_PUBLIC_URL and MINA_ALLOWED_ORIGINS
checked at start, trusted proxies' headers believed and everyone else's ignored, absolute links.
(tests/test_nginx_browser.py records through a real nginx with TLS.)"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from mina.settings import Settings
from mina.web.app import create_app
from mina.web.proxies import origin_allowed, parse_origin
from mina.webhooks.sender import absolute_links
from tests.conftest import csrf_from, signup
from tests.uploadhelp import csrf_header


def allowed(origin: str, scheme: str, host: str, **kwargs: object) -> bool:
    return origin_allowed(origin, scheme=scheme, host=host, forwarded_host=None, **kwargs)  # type: ignore[arg-type]


def test_default_ports_are_normalised() -> None:
    assert allowed("https://mina.example.com", "wss", "mina.example.com:443")
    assert allowed("https://mina.example.com:443", "wss", "mina.example.com")
    assert allowed("http://localhost", "ws", "localhost:80")
    assert allowed("HTTP://LocalHost:8000", "ws", "localhost:8000")
    assert not allowed("http://localhost:8000", "ws", "localhost")
    assert parse_origin("https://a.example:443/") == parse_origin("https://A.example")


def test_ipv6_hosts() -> None:
    assert allowed("http://[::1]:8000", "ws", "[::1]:8000")
    assert allowed("https://[2001:db8::1]", "wss", "[2001:db8::1]:443")
    assert not allowed("http://[::1]:8000", "ws", "[::2]:8000")
    assert str(parse_origin("http://[::1]:8000")) == "http://[::1]:8000"


def test_a_mismatched_scheme_or_a_foreign_origin_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not allowed("http://mina.example.com", "wss", "mina.example.com")
    with caplog.at_level(logging.WARNING, logger="mina.web.proxies"):
        assert not allowed("https://evil.example", "wss", "mina.example.com")
    # the log names both sides, so an operator sees the mismatch
    assert "https://evil.example" in caplog.text and "https://mina.example.com" in caplog.text
    for nonsense in ("null", "", "file://", "https://", "https://x:99999"):
        assert not allowed(nonsense, "wss", "mina.example.com")


def test_an_extra_allowed_origin_and_the_public_url() -> None:
    extra = ["https://app.example.com:8443"]
    assert allowed("https://app.example.com:8443", "wss", "mina.internal", allowed=extra)
    assert not allowed("https://app.example.com", "wss", "mina.internal", allowed=extra)
    public = "https://localhost:8443"
    # nginx's `Host $host` drops the port: the public URL is what the browser uses
    assert allowed("https://localhost:8443", "wss", "localhost", public_url=public)
    assert not allowed("https://localhost", "wss", "localhost", public_url=public)
    # a trusted proxy's forwarded host stands in for Host
    assert origin_allowed(
        "https://localhost:8443", scheme="wss", host="localhost", forwarded_host="localhost:8443"
    )


def test_settings_check_the_addresses_at_start() -> None:
    settings = Settings(public_url="HTTPS://Mina.Example.com/", allowed_origins=" http://a:81 ,")
    assert settings.public_url == "https://mina.example.com"
    assert settings.allowed_origins == "http://a:81"
    for bad in ("mina.example.com", "ftp://x", "https://x/mina", "https://x?y=1", "https://x:0x"):
        with pytest.raises(ValueError, match="MINA_PUBLIC_URL"):
            Settings(public_url=bad)
    with pytest.raises(ValueError, match="path"):
        Settings(public_url="https://example.com/mina/")
    with pytest.raises(ValueError, match="MINA_ALLOWED_ORIGINS"):
        Settings(allowed_origins="https://ok.example, nonsense")


def _wrong_login(html: str) -> dict[str, str]:
    return {"email": "a@example.com", "password": "wrong", "csrf_token": csrf_from(html)}


def test_a_forged_forwarded_for_from_an_untrusted_address_changes_nothing(
    settings: Settings,
) -> None:
    """TestClient connects as "testclient": untrusted by default, a trusted proxy when named."""
    for trusted, counted in (("127.0.0.1", "testclient"), ("testclient", "203.0.113.9")):
        settings.trusted_proxies = trusted
        app = create_app(settings)
        with TestClient(app) as client:
            page = client.get("/login")
            forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
            client.post(
                "/login",
                data={
                    "email": "a@example.com",
                    "password": "wrong",
                    "csrf_token": csrf_from(page.text),
                },
                headers=forged,
            )
            keys = [k for k in app.state.login_throttle._failures if k.startswith("addr:")]
            assert keys == [f"addr:{counted}"], (trusted, keys)


def test_rfc_7239_forwarded_from_a_trusted_proxy(settings: Settings) -> None:
    settings.trusted_proxies = "testclient"
    app = create_app(settings)
    with TestClient(app) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={
                "email": "a@example.com",
                "password": "wrong",
                "csrf_token": csrf_from(page.text),
            },
            headers={"Forwarded": 'for="[2001:db8::7]";proto=https;host=mina.example.com'},
        )
        keys = [k for k in app.state.login_throttle._failures if k.startswith("addr:")]
        assert keys == ["addr:2001:db8::7"]


def test_websocket_origins_in_the_app(settings: Settings) -> None:
    settings.public_url = "https://localhost:8443"
    settings.allowed_origins = "https://other.example"
    app = create_app(settings)
    with TestClient(app) as client:
        signup(client, "ada@example.com", "Ada")
        for origin, ok in (
            ("https://localhost:8443", True),
            ("https://other.example", True),
            ("http://testserver", False),  # the request's own origin no longer counts
        ):
            with client.websocket_connect("/ws/transcribe", headers={"Origin": origin}) as ws:
                ws.send_json({"type": "ping"})
                answer = ws.receive_json()
                if ok:
                    assert answer["type"] == "pong", (origin, answer)
                else:
                    assert answer["code"] == "bad_origin", (origin, answer)
                    with pytest.raises(WebSocketDisconnect):
                        ws.receive_json()


def test_links_start_with_the_public_url(settings: Settings) -> None:
    settings.public_url = "https://mina.example.com"
    app = create_app(settings)
    with TestClient(app) as client:
        signup(client, "ada@example.com", "Ada")
        made = client.post(
            "/api/workspace/invites",
            json={"email": "grace@example.com"},
            headers=csrf_header(client),
        )
        assert made.json()["url"].startswith("https://mina.example.com/invite/")
    payload = {"meeting": {"id": 7, "url": "/dashboard/meeting/7"}, "task": {"title": "/x"}}
    assert absolute_links(payload, "https://mina.example.com") == {
        "meeting": {"id": 7, "url": "https://mina.example.com/dashboard/meeting/7"},
        "task": {"title": "/x"},
    }
    assert absolute_links(payload, "") == payload
