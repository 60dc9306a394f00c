from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import ApiToken
from tests.conftest import create_settings_token, csrf_from


def test_token_create_use_revoke(user_client: TestClient, db: Session) -> None:
    plain = create_settings_token(user_client, "Nightly export")
    # shown once only
    again = user_client.get("/settings")
    assert plain not in again.text and "Nightly export" in again.text
    # stored as a hash, never in plain text
    stored = db.scalars(select(ApiToken)).all()
    assert len(stored) == 1
    assert stored[0].token_hash != plain and plain not in stored[0].token_hash
    assert stored[0].revoked_at is None

    api = TestClient(user_client.app)
    me = api.get("/api/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.status_code == 200 and me.json()["email"] == "ada@example.com"
    # a Bearer call needs no CSRF header
    renamed = api.patch(
        "/api/me", json={"name": "Ada"}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ada"

    token_id = stored[0].id
    csrf = csrf_from(again.text)
    revoked = user_client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200 and "Token revoked" in revoked.text
    after = api.get("/api/me", headers={"Authorization": f"Bearer {plain}"})
    assert after.status_code == 401
    assert after.json() == {
        "error": {
            "code": "invalid_token",
            "message": "The API token is missing, malformed or revoked.",
        }
    }


def test_bad_tokens_are_401(client: TestClient) -> None:
    for header in ["Bearer nope", "Bearer ", "Basic abc", "Bearer mina_" + "x" * 43]:
        response = client.get("/api/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "invalid_token"
        assert response.headers["www-authenticate"] == "Bearer"


def test_no_credentials_is_401(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_cannot_revoke_another_users_token(
    user_client: TestClient, other_client: TestClient
) -> None:
    create_settings_token(user_client, "mine")
    csrf = csrf_from(other_client.get("/settings").text)
    response = other_client.post("/settings/tokens/1/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert "mine" in user_client.get("/settings").text
