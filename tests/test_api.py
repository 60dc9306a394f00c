from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import TEST_SECRET


def test_healthz_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_the_database_is_down(tmp_path: Path) -> None:
    down = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        secret_key=TEST_SECRET,
    )
    with TestClient(create_app(down)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable"}


def test_api_errors_have_one_shape(user_client: TestClient) -> None:
    missing = user_client.get("/api/does-not-exist")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message"}
    wrong_method = user_client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_pages_show_html_errors(user_client: TestClient) -> None:
    response = user_client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Nothing lives at this address" in response.text


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/me" in spec["paths"] and "/healthz" in spec["paths"]
    assert "/login" not in spec["paths"]


def test_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_static_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/login").text
    assert not re.search(r'(src|href)="(https?:)?//', page), "no asset from another host"
    css = client.get("/static/css/mina.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
