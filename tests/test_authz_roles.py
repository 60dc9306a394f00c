"""The role matrix: every route of tests/test_authz.py's MATRIX called by an admin, a member and
a viewer of the owner's workspace (each signed in with their own account, acting in the
owner's workspace through the page switcher), on SQLite and PostgreSQL.

- a role below the route's ``least`` gets 403 ``forbidden`` (a 403 page on pages, close 4403
  on the recording socket) and changes nothing;
- a role that may call it gets the owner's answer, except on the owner's personal objects
  (their data export, their API token), which answer 404 as for a missing id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import Role
from mina.settings import Settings
from mina.teams import role_rank
from tests.conftest import csrf_from, signup
from tests.livehelp import start
from tests.meetingdata import principal_of
from tests.test_authz import (
    MATRIX,
    OWNER,
    SECRET,
    Case,
    World,
    _socket,
    _start,
    call,
    fingerprint,
    make_world,
    wait_jobs_idle,
)
from tests.uploadhelp import wait_job

ROLES = {
    Role.ADMIN: "ali@example.com",
    Role.MEMBER: "mo@example.com",
    Role.VIEWER: "vi@example.com",
}


def least_role(key: str, case: Case) -> Role:
    if case.least is not None:
        return case.least
    return Role.VIEWER if key.startswith(("GET ", "WS /ws/meetings")) else Role.MEMBER


@pytest.fixture
def world(
    user_client: TestClient,
    other_client: TestClient,
    db: Session,
    settings: Settings,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> World:
    return make_world(user_client, db, settings, cli_env, tmp_path)


@pytest.fixture
def teammates(world: World) -> Iterator[dict[Role, TestClient]]:
    """An admin, a member and a viewer of the owner's workspace, each in their own browser
    session, switched to that workspace (their own is their first)."""
    workspace_id = principal_of(world.db, OWNER).workspace.id
    clients = {}
    for role, email in ROLES.items():
        client = TestClient(world.owner.app)
        signup(client, email, f"{role.value.title()} Person")
        user = principal_of(world.db, email).user
        store.add_member(world.db, workspace_id=workspace_id, user_id=user.id, role=role)
        world.db.commit()
        csrf = csrf_from(client.get("/settings").text)
        switched = client.post(
            "/workspace/switch",
            data={"workspace_id": str(workspace_id), "csrf_token": csrf},
            follow_redirects=False,
        )
        assert switched.status_code == 303
        me = client.get("/api/me").json()
        assert me["workspace"] == {
            "id": workspace_id,
            "name": me["workspace"]["name"],
            "slug": me["workspace"]["slug"],
            "role": role.value,
        }
        clients[role] = client
    yield clients


def _check_route(world: World, client: TestClient, role: Role, key: str, case: Case) -> None:
    allowed = role_rank(role) >= role_rank(least_role(key, case))
    values = world.resolve(case)  # fresh objects first: they are part of the fingerprint
    before = None if allowed else fingerprint(world)
    answer = call(world, client, key, case, values)
    if not allowed:
        assert answer.status_code == 403, (key, role, answer.text)
        if case.kind == "api":
            assert answer.json()["error"]["code"] == "forbidden", (key, role)
        assert fingerprint(world) == before, f"{key} let a {role.value} change something"
    elif case.personal:
        assert answer.status_code == 404, (key, role, answer.text)
    else:
        assert answer.status_code == case.owner_status, (key, role, answer.text)
        if case.upload:
            assert wait_job(client, answer.json()["job_id"])[0]["status"] == "done"
    assert SECRET not in answer.text or allowed, key
    wait_jobs_idle(world.db)


def _check_sockets(world: World, client: TestClient, role: Role) -> None:
    follow = _socket(client, f"/ws/meetings/{world.meeting}/live")
    assert follow.first["type"] == "transcript" and follow.close_code == 1000, role
    if role_rank(role) >= role_rank(Role.MEMBER):
        with client.websocket_connect("/ws/transcribe") as ws:
            start(ws, title=f"Recorded by a {role.value}")
            ws.send_json({"type": "stop"})
            while ws.receive_json()["type"] != "stopped":
                pass
    else:
        refused = _socket(client, "/ws/transcribe", _start(world.meeting))
        assert refused.close_code == 4403 and refused.first["code"] == "forbidden", refused
    wait_jobs_idle(world.db)


def test_every_role_on_every_route(world: World, teammates: dict[Role, TestClient]) -> None:
    for key, case in MATRIX.items():
        for role, client in teammates.items():
            if case.kind == "ws":
                continue
            _check_route(world, client, role, key, case)
    for role, client in teammates.items():
        _check_sockets(world, client, role)
