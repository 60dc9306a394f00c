"""A workspace of several people for the comment and notification tests: Ada Lovelace owns it
(with a meeting of three segments), Grace Hopper is a viewer in it, Alan Turing a member;
Mallory has a workspace of her own. Each is a signed-in TestClient; ``call`` sends the CSRF
header on writes and names Ada's workspace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import Role, utcnow
from mina.settings import Settings
from tests.conftest import signup
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header

SAID = [
    Said("Let's go through the deck.", 0, 2_000, "Ada"),
    Said("I will send the numbers tomorrow.", 2_000, 4_000, "Grace"),
    Said("Then we decide on Friday.", 4_000, 6_000, "Ada"),
]


@dataclass
class Team:
    db: Session
    clients: dict[str, TestClient]
    ids: dict[str, int]  # user ids by first name, lower-cased
    workspace_id: int
    meeting_id: int
    segments: list[int]
    csrf: dict[str, dict[str, str]]

    def call(
        self, who: str, method: str, path: str, json: Any = None, **params: Any
    ) -> httpx.Response:
        client = self.clients[who]
        headers = {"X-Mina-Workspace": str(self.workspace_id)} if who != "mallory" else {}
        if method != "GET":
            headers.update(self.csrf[who])
        return client.request(method, path, json=json, headers=headers, params=params or None)

    def comment(self, who: str, body: str, segment: int = 0) -> dict[str, Any]:
        answer = self.call(
            who, "POST", f"/api/segments/{self.segments[segment]}/comments", {"body": body}
        )
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result


def _join(db: Session, workspace_id: int, email: str, role: Role) -> int:
    """Make the user a member of the workspace (they keep their own: requests name this one)."""
    user = store.get_user_by_email(db, email=email)
    assert user is not None
    store.add_member(db, workspace_id=workspace_id, user_id=user.id, role=role)
    db.commit()
    return user.id


@contextmanager
def open_team(app: FastAPI, db: Session, settings: Settings) -> Iterator[Team]:
    """Ada's team (see the module's docstring), its clients open for the block."""
    people = {
        "ada": ("ada@example.com", "Ada Lovelace"),
        "grace": ("grace@example.com", "Grace Hopper"),
        "alan": ("alan@example.com", "Alan Turing"),
        "mallory": ("mallory@example.com", "Mallory"),
    }
    clients = {}
    with (
        TestClient(app) as ada,
        TestClient(app) as grace,
        TestClient(app) as alan,
        TestClient(app) as mallory,
    ):
        for (key, (email, name)), client in zip(
            people.items(), [ada, grace, alan, mallory], strict=True
        ):
            signup(client, email, name)
            clients[key] = client
        owner = principal_of(db, "ada@example.com")
        workspace_id = owner.workspace.id
        ids = {
            "ada": owner.user.id,
            "grace": _join(db, workspace_id, "grace@example.com", Role.VIEWER),
            "alan": _join(db, workspace_id, "alan@example.com", Role.MEMBER),
            "mallory": principal_of(db, "mallory@example.com").user.id,
        }
        meeting = add_meeting(
            db,
            principal=owner,
            audio_dir=settings.audio_dir,
            title="Weekly sync",
            started_at=utcnow() - timedelta(hours=1),
            said=SAID,
            audio_s=6,
        )
        segments = [s.id for s in store.list_transcript(db, meeting_id=meeting.id)]
        csrf = {key: csrf_header(client) for key, client in clients.items()}
        yield Team(db, clients, ids, workspace_id, meeting.id, segments, csrf)
