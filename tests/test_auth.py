from __future__ import annotations

import subprocess
import sys

import argon2
import pytest
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import User
from tests.conftest import PASSWORD, csrf_from, login, signup

PAGES = [
    "/dashboard",
    "/dashboard/meetings",
    "/live",
    "/analytics",
    "/settings",
    "/dashboard/meeting/1",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_login_without_a_session(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_root_redirects_by_session(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    signup(client, "ada@example.com")
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"


def test_signup_lands_on_dashboard_and_creates_a_workspace(client: TestClient) -> None:
    signup(client, "Ada@Example.com ", "Ada Lovelace")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text
    assert "Ada Lovelace&#39;s Workspace" in page.text
    assert "No meetings yet: start a recording" in page.text
    me = client.get("/api/me").json()
    assert me["email"] == "ada@example.com"
    assert me["workspace"]["role"] == "owner"
    assert me["workspace"]["slug"] == "ada-lovelaces-workspace"


def test_password_is_stored_as_an_argon2id_hash(client: TestClient, db: Session) -> None:
    signup(client, "ada@example.com")
    user = db.scalar(select(User).where(User.email == "ada@example.com"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_mina_hashes_at_the_recommended_argon2id_cost() -> None:
    """The suite's apps hash at the lowest cost (conftest's ``cheap_password_hashes``); Mina
    itself, as in ``mina serve``, uses argon2's recommended parameters (RFC 9106 low memory)."""
    code = "from mina import security; print(security.hash_password('correct horse battery'))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert argon2.extract_parameters(done.stdout.strip()) == RFC_9106_LOW_MEMORY


def test_signup_rejects_duplicates_and_weak_passwords(client: TestClient) -> None:
    signup(client, "ada@example.com")
    fresh = TestClient(client.app)
    token = csrf_from(fresh.get("/signup").text)
    taken = fresh.post(
        "/signup", data={"email": "ADA@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert taken.status_code == 400 and "already exists" in taken.text
    weak = fresh.post(
        "/signup", data={"email": "b@example.com", "password": "short", "csrf_token": token}
    )
    assert weak.status_code == 400 and "at least 8 characters" in weak.text
    bad = fresh.post(
        "/signup", data={"email": "not-an-email", "password": PASSWORD, "csrf_token": token}
    )
    assert bad.status_code == 400 and "valid email" in bad.text


def test_logout_then_login_again(client: TestClient) -> None:
    signup(client, "ada@example.com")
    token = csrf_from(client.get("/dashboard").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert login(client, "ada@example.com") == 303
    assert client.get("/dashboard").status_code == 200


def test_get_logout_does_not_sign_out(client: TestClient) -> None:
    signup(client, "ada@example.com")
    page = client.get("/logout")
    assert page.status_code == 200 and "Log out?" in page.text
    assert client.get("/dashboard", follow_redirects=False).status_code == 200


def test_wrong_password_gets_a_clear_message(client: TestClient) -> None:
    signup(client, "ada@example.com")
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": "ada@example.com", "password": "wrong password", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "do not match an account" in response.text
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_login_brings_you_back_to_a_local_page_only(client: TestClient) -> None:
    signup(client, "ada@example.com")
    client.cookies.clear()
    for next_path, expected in [
        ("/settings", "/settings"),
        ("https://evil.example", "/dashboard"),
        ("//evil.example", "/dashboard"),
    ]:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": token,
                "next": next_path,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected
        client.cookies.clear()


def test_throttle_answers_429_after_repeated_failures(client: TestClient) -> None:
    signup(client, "ada@example.com")
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    statuses = []
    for _ in range(12):
        response = client.post(
            "/login",
            data={"email": "ada@example.com", "password": "nope-nope", "csrf_token": token},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(response.headers["retry-after"]) > 0
    # even the right password is refused until the window passes
    right = client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert right.status_code == 429 and "Too many failed attempts" in right.text


def test_forms_without_csrf_token_are_refused(client: TestClient) -> None:
    response = client.post("/signup", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "expired" in response.text
    client.get("/signup")  # a session with a token exists now, but a forged one still fails
    forged = client.post(
        "/signup", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403


def test_cookie_api_writes_need_the_csrf_header(user_client: TestClient) -> None:
    # A JSON API write over the cookie needs X-CSRF-Token; a cross-site form cannot send it.
    refused = user_client.patch("/api/me", json={"name": "Mallory"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert user_client.get("/api/me").json()["name"] == "Ada Lovelace"
    token = csrf_from(user_client.get("/settings").text)
    allowed = user_client.patch("/api/me", json={"name": "Ada L."}, headers={"X-CSRF-Token": token})
    assert allowed.status_code == 200 and allowed.json()["name"] == "Ada L."


def test_session_cookie_flags(app: FastAPI) -> None:
    first = TestClient(app).get("/signup").headers["set-cookie"]
    assert "HttpOnly" in first and "SameSite=Lax" in first and "Secure" not in first
    behind_https = TestClient(app, base_url="https://mina.example").get("/signup")
    assert "Secure" in behind_https.headers["set-cookie"]


def test_tampered_cookie_is_ignored(user_client: TestClient) -> None:
    value = user_client.cookies.get("mina_session")
    assert value
    user_client.cookies.clear()
    user_client.cookies.set("mina_session", value[:-3] + ("abc" if value[-3:] != "abc" else "xyz"))
    assert user_client.get("/dashboard", follow_redirects=False).status_code == 303


def test_inactive_user_cannot_log_in(client: TestClient, db: Session) -> None:
    signup(client, "ada@example.com")
    user = db.scalar(select(User).where(User.email == "ada@example.com"))
    assert user is not None
    user.is_active = False
    db.commit()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert login(client, "ada@example.com") == 401
