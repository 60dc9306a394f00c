"""The authorization matrix: every route of the app (API, pages, WebSockets) is called as its
owner, as a user of another workspace and anonymously, with real objects behind the ids in its
path, on SQLite and PostgreSQL.

- the owner gets the route's own answer, on the API with the session cookie, a token from
  ``mina token create`` and a token from /settings alike;
- another workspace's id answers exactly like a missing id (404, the same body) and changes
  nothing; routes without ids show another workspace nothing of the owner's;
- anonymous callers get 401 from the API, a redirect to /login from pages, close 4401 from
  WebSockets; revoked tokens get 401 / 4401 at once.

Each case also names the least role that may call it (``least``); tests/test_authz_roles.py
calls every route as an admin, a member and a viewer of the owner's workspace.

``MATRIX`` says how to call each route; a route that is neither there nor in ``PUBLIC`` fails
``test_every_route_is_in_the_matrix``, so no route can be added without its authorization test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from mina import sharing, store
from mina.cli import main
from mina.models import (
    ApiToken,
    Comment,
    Invite,
    Job,
    JobStatus,
    Meeting,
    MeetingInsights,
    MeetingSpeaker,
    Membership,
    Role,
    Segment,
    ShareLink,
    Task,
    Webhook,
    utcnow,
)
from mina.settings import Settings
from mina.teams.invites import create_invite
from tests.conftest import create_settings_token, csrf_from
from tests.livehelp import start
from tests.meetingdata import Said, add_meeting, principal_of, speech_pcm
from tests.uploadhelp import csrf_header, wait_job, write_wav

SECRET = "Ada's secret board review"
MISSING_ID = 2_000_000_000  # a possible id that names nothing
OWNER, OTHER = "ada@example.com", "grace@example.com"

Kind = Literal["api", "page", "ws"]


@dataclass(frozen=True)
class Case:
    """How to call one route: its kind, which World object fills each id in its path, fixed
    path values, a JSON body or page form, the status its owner gets, the least role that may
    call it (None: reads are for viewers, writes for members), and whether its ids are the
    owner's own (their export, their token: other members get 404 as for a missing id)."""

    kind: Kind
    owner_status: int = 200
    ids: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    upload: bool = False
    least: Role | None = None
    personal: bool = False
    query: str = ""  # appended to the path


def _api(status: int = 200, **kwargs: Any) -> Case:
    return Case("api", status, **kwargs)


def _page(status: int = 200, **kwargs: Any) -> Case:
    return Case("page", status, **kwargs)


MEETING = {"meeting_id": "meeting"}
VIEWER, MEMBER, ADMIN, OWNER_ROLE = Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER

MATRIX: dict[str, Case] = {
    "GET /api/me": _api(),
    "PATCH /api/me": _api(json={"name": "Ada L."}, least=VIEWER),
    "GET /api/meetings": _api(),
    "GET /api/meetings/{meeting_id}": _api(ids=MEETING),
    "PATCH /api/meetings/{meeting_id}": _api(ids=MEETING, json={"description": "Agenda"}),
    "DELETE /api/meetings/{meeting_id}": _api(204, ids={"meeting_id": "new_meeting"}),
    "GET /api/meetings/{meeting_id}/transcript": _api(ids=MEETING),
    "GET /api/meetings/{meeting_id}/audio": _api(ids=MEETING),
    "GET /api/meetings/{meeting_id}/export/{fmt}": _api(ids=MEETING, fixed={"fmt": "txt"}),
    "POST /api/meetings/{meeting_id}/speakers": _api(
        ids=MEETING, json={"from": "Grace", "to": "Grace H."}
    ),
    "GET /api/meetings/{meeting_id}/speakers": _api(ids=MEETING),
    "POST /api/meetings/{meeting_id}/diarize": _api(202, ids=MEETING, json={"speakers": 2}),
    "GET /api/meetings/{meeting_id}/insights": _api(ids=MEETING),
    "POST /api/meetings/{meeting_id}/insights": _api(202, ids=MEETING),
    "GET /api/tasks": _api(),
    "POST /api/tasks": _api(201, json={"title": "Made in the matrix"}),
    "PATCH /api/tasks/{task_id}": _api(ids={"task_id": "task"}, json={"status": "done"}),
    "DELETE /api/tasks/{task_id}": _api(204, ids={"task_id": "new_task"}),
    "PATCH /api/segments/{segment_id}": _api(
        ids={"segment_id": "segment"}, json={"speaker": "Ada"}
    ),
    "POST /api/transcriptions": _api(202, upload=True),
    "GET /api/jobs/{job_id}": _api(ids={"job_id": "job"}),
    "GET /api/analytics": _api(),
    "GET /api/segments/{segment_id}/comments": _api(ids={"segment_id": "segment"}),
    "POST /api/segments/{segment_id}/comments": _api(
        201, ids={"segment_id": "segment"}, json={"body": "Made in the matrix, @Ada"}, least=VIEWER
    ),
    # the owner's comments: only their author edits one (OWNER_ROLE stands for "its author"),
    # an admin may delete it too
    "PATCH /api/comments/{comment_id}": _api(
        ids={"comment_id": "comment"}, json={"body": "Edited in the matrix"}, least=OWNER_ROLE
    ),
    "DELETE /api/comments/{comment_id}": _api(204, ids={"comment_id": "new_comment"}, least=ADMIN),
    "GET /api/meetings/{meeting_id}/comments": _api(ids=MEETING),
    "GET /api/notifications": _api(),
    "POST /api/notifications/read": _api(json={}, least=VIEWER),
    "POST /api/meetings/{meeting_id}/shares": _api(201, ids=MEETING, json={"expires_in_days": 1}),
    "GET /api/meetings/{meeting_id}/shares": _api(ids=MEETING, least=MEMBER),
    "DELETE /api/shares/{share_id}": _api(204, ids={"share_id": "new_share"}),
    # the download before a new export replaces the one it serves
    "GET /api/me/export/{job_id}": _api(ids={"job_id": "export_job"}, personal=True),
    "POST /api/me/export": _api(202, least=VIEWER),
    # with a wrong password: every caller is refused and nothing is deleted (the right one is
    # tested in tests/test_account_deletion.py)
    "DELETE /api/me": _api(403, json={"password": "not the password"}, least=VIEWER),
    "GET /api/webhooks": _api(least=ADMIN),
    "POST /api/webhooks": _api(
        201,
        json={"url": "http://127.0.0.1:9/matrix", "events": ["meeting.completed"]},
        least=ADMIN,
    ),
    "PATCH /api/webhooks/{webhook_id}": _api(
        ids={"webhook_id": "webhook"}, json={"events": ["task.created"]}, least=ADMIN
    ),
    "DELETE /api/webhooks/{webhook_id}": _api(204, ids={"webhook_id": "new_webhook"}, least=ADMIN),
    "GET /api/webhooks/{webhook_id}/deliveries": _api(ids={"webhook_id": "webhook"}, least=ADMIN),
    "GET /api/search": _api(query="?q=plan&mode=hybrid"),
    "POST /api/ask": _api(json={"question": "What is the plan?"}, least=VIEWER),
    "GET /api/workspaces": _api(),
    "POST /api/workspaces": _api(201, json={"name": "Side project"}, least=VIEWER),
    "PATCH /api/workspace": _api(json={"name": "Ada's team"}, least=ADMIN),
    "GET /api/workspace/members": _api(),
    "PATCH /api/workspace/members/{user_id}": _api(
        ids={"user_id": "teammate"}, json={"role": "viewer"}, least=ADMIN
    ),
    "DELETE /api/workspace/members/{user_id}": _api(
        204, ids={"user_id": "new_teammate"}, least=ADMIN
    ),
    # to nobody: the owner gets 404, everyone else 403 (a real transfer: tests/test_teams.py)
    "POST /api/workspace/transfer": _api(404, json={"user_id": 0}, least=OWNER_ROLE),
    "GET /api/workspace/invites": _api(least=ADMIN),
    "POST /api/workspace/invites": _api(
        201, json={"email": "new.person@example.com", "role": "viewer"}, least=ADMIN
    ),
    "DELETE /api/workspace/invites/{invite_id}": _api(
        204, ids={"invite_id": "new_invite"}, least=ADMIN
    ),
    # a token that opens no invite: every signed-in caller gets the same 404
    "POST /api/invites/{token}/accept": _api(404, fixed={"token": "no-such-invite"}, least=VIEWER),
    "GET /dashboard": _page(),
    "GET /dashboard/meetings": _page(),
    "GET /dashboard/meeting/{meeting_id}": _page(ids=MEETING),
    "GET /live": _page(least=MEMBER),
    "GET /upload": _page(least=MEMBER),
    "GET /analytics": _page(),
    "GET /tasks": _page(),
    "GET /ask": _page(query="?q=What+is+the+plan"),
    "GET /settings": _page(),
    "POST /settings/tokens": _page(303, form={"name": "made in the matrix"}, least=VIEWER),
    "POST /settings/tokens/{token_id}/revoke": _page(
        303, ids={"token_id": "new_token"}, form={}, least=VIEWER, personal=True
    ),
    # a workspace that is not the caller's: they stay where they are
    "POST /workspace/switch": _page(303, form={"workspace_id": "0"}, least=VIEWER),
    # the caller's own invitations (none here): an empty list, and a 303 back to it
    "GET /invites": _page(least=VIEWER),
    "POST /invites/{invite_id}/accept": _page(
        303, fixed={"invite_id": "2000000000"}, form={}, least=VIEWER
    ),
    "WS /ws/transcribe": Case("ws", least=MEMBER),
    "WS /ws/meetings/{meeting_id}/live": Case("ws", ids=MEETING),
}

# Routes anyone may call: signing in and out, health, the API's description, static files.
PUBLIC = {
    "GET /",
    "GET /login",
    "POST /login",
    "GET /signup",
    "POST /signup",
    "GET /logout",
    "POST /logout",
    "GET /healthz",
    "GET /openapi.json",
    "GET /docs",
    "MOUNT /static",
    # a share link's page, transcript and audio: the token is the authority (tests/test_shares.py)
    "GET /s/{token}",
    "GET /s/{token}/transcript.json",
    "GET /s/{token}/audio",
    # an invitation's page and its accept form: the token is the authority, and accepting
    # needs a signed-in account with the invite's email (tests/test_teams.py)
    "GET /invite/{token}",
    "POST /invite/{token}",
    # Prometheus scrapes it with MINA_METRICS_TOKEN, or from the machine itself when unset;
    # never with a session (tests/test_metrics.py)
    "GET /metrics",
}


def route_keys(app: FastAPI) -> set[str]:
    """Every route of the app as ``METHOD /path``, ``WS /path`` or ``MOUNT /path``."""
    keys = set()
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount):
            keys.add(f"MOUNT {route.path}")
        elif isinstance(original, WebSocketRoute) or route.methods is None:
            keys.add(f"WS {route.path}")
        else:
            keys.update(f"{method} {route.path}" for method in route.methods - {"HEAD"})
    return keys


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    keys = route_keys(app)
    unknown = keys - MATRIX.keys() - PUBLIC
    assert not unknown, f"routes without an authorization case in MATRIX or PUBLIC: {unknown}"
    stale = (MATRIX.keys() | PUBLIC) - keys
    assert not stale, f"MATRIX or PUBLIC names routes the app does not have: {stale}"
    assert not MATRIX.keys() & PUBLIC


@dataclass
class World:
    """The owner's objects, and how to make fresh ones for routes that use theirs up."""

    db: Session
    settings: Settings
    tmp_path: Path
    owner: TestClient
    meeting: int
    segment: int
    job: int
    tokens: dict[str, str]  # how it was made -> plain token
    export_job: int = 0
    task: int = 0
    webhook: int = 0
    teammate: int = 0

    def new_teammate(self) -> int:
        return _add_teammate(self.db, f"doomed.{uuid.uuid4().hex[:8]}@example.com")

    def new_invite(self) -> int:
        made = create_invite(
            self.db,
            principal=principal_of(self.db, OWNER),
            email=f"invitee.{uuid.uuid4().hex[:8]}@example.com",
            role=Role.VIEWER,
        )
        self.db.commit()
        return made.invite.id

    comment: int = 0

    def new_meeting(self) -> int:
        return _add_meeting(self.db, self.settings, f"{SECRET} (doomed)")

    def new_task(self) -> int:
        return _add_task(self.db, self.meeting, f"{SECRET} (doomed task)")

    def new_comment(self) -> int:
        return _add_comment(self.db, self.segment, f"{SECRET} (doomed comment)")

    def new_webhook(self) -> int:
        return _add_webhook(self.db, "http://127.0.0.1:9/doomed")

    def new_share(self) -> int:
        principal = principal_of(self.db, OWNER)
        meeting = store.get_meeting(
            self.db, workspace_id=principal.workspace.id, meeting_id=self.meeting
        )
        assert meeting is not None
        made = sharing.create_link(self.db, meeting=meeting, user_id=principal.user.id)
        self.db.commit()
        return made.link.id

    def new_token(self) -> int:
        create_settings_token(self.owner, "to revoke")
        return max(t.id for t in store.list_api_tokens(self.db, user=self._owner_user()))

    def _owner_user(self) -> Any:
        self.db.expire_all()
        return principal_of(self.db, OWNER).user

    def resolve(self, case: Case) -> dict[str, object]:
        values: dict[str, object] = dict(case.fixed)
        for name, source in case.ids.items():
            made = getattr(self, source)
            values[name] = made() if callable(made) else made
        return values


def _add_meeting(db: Session, settings: Settings, title: str) -> int:
    meeting = add_meeting(
        db,
        principal=principal_of(db, OWNER),
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow() - timedelta(hours=1),
        # the secret is in a title, a text and a speaker: lists, analytics and pages show them
        said=[
            Said(f"{SECRET}: the plan.", 0, 1500, "Grace"),
            Said("Agreed.", 1500, 2500, f"Chair of {SECRET}"),
        ],
        audio_s=2.5,
    )
    return meeting.id


def _add_task(db: Session, meeting_id: int, title: str) -> int:
    principal = principal_of(db, OWNER)
    meeting = store.get_meeting(db, workspace_id=principal.workspace.id, meeting_id=meeting_id)
    task = store.create_task(
        db,
        workspace_id=principal.workspace.id,
        user_id=principal.user.id,
        title=title,
        meeting=meeting,
        assignee=f"Chair of {SECRET}",
    )
    db.commit()
    return task.id


def _add_teammate(db: Session, email: str, role: Role = Role.MEMBER) -> int:
    """A person with an account of their own, made a member of the owner's workspace."""
    user = store.create_user(db, email=email, password="a long password", name="Teammate")
    store.add_member(
        db, workspace_id=principal_of(db, OWNER).workspace.id, user_id=user.id, role=role
    )
    db.commit()
    return user.id


def _add_comment(db: Session, segment_id: int, body: str) -> int:
    principal = principal_of(db, OWNER)
    segment = store.get_segment(db, workspace_id=principal.workspace.id, segment_id=segment_id)
    assert segment is not None
    comment = store.create_comment(
        db, segment=segment, author_id=principal.user.id, body=body, mentions=[]
    )
    db.commit()
    return comment.id


def _add_webhook(db: Session, url: str) -> int:
    principal = principal_of(db, OWNER)
    webhook = store.create_webhook(
        db,
        workspace_id=principal.workspace.id,
        user_id=principal.user.id,
        url=url,
        events=["meeting.completed"],
    )
    db.commit()
    return webhook.id


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


def make_world(
    user_client: TestClient,
    db: Session,
    settings: Settings,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> World:
    """The owner's objects (the other workspace's user must exist already)."""
    meeting = _add_meeting(db, settings, SECRET)
    segment = store.list_transcript(db, meeting_id=meeting)[0].id
    wav = write_wav(tmp_path / "ada.wav", speech_pcm(1.0))
    with wav.open("rb") as handle:
        uploaded = user_client.post(
            "/api/transcriptions",
            files={"file": (wav.name, handle, "audio/wav")},
            data={"title": f"{SECRET} (upload)"},
            headers=csrf_header(user_client),
        )
    assert uploaded.status_code == 202, uploaded.text
    job = uploaded.json()["job_id"]
    assert wait_job(user_client, job)[0]["status"] == "done"
    made = CliRunner().invoke(main, ["token", "create", OWNER, "--name", "cli"], env=cli_env)
    assert made.exit_code == 0, made.output
    tokens = {"cli": made.output.strip(), "settings": create_settings_token(user_client, "ui")}
    exported = user_client.post("/api/me/export", headers=csrf_header(user_client))
    export_job = exported.json()["job_id"]
    assert wait_job(user_client, export_job)[0]["status"] == "done"
    wait_jobs_idle(db)
    task = _add_task(db, meeting, f"{SECRET}: follow up")
    webhook = _add_webhook(db, "http://127.0.0.1:9/secret-board-review")
    teammate = _add_teammate(db, "teammate@example.com")
    comment = _add_comment(db, segment, f"{SECRET}: a remark")
    return World(
        db,
        settings,
        tmp_path,
        user_client,
        meeting,
        segment,
        job,
        tokens,
        export_job,
        task,
        webhook,
        teammate,
        comment,
    )


def _path(key: str, values: Mapping[str, object]) -> tuple[str, str]:
    method, template = key.split(" ", 1)
    return method, template.format(**values)


def _missing(case: Case, values: Mapping[str, object]) -> dict[str, object]:
    return {**values, **{name: MISSING_ID for name in case.ids}}


def call(
    world: World,
    client: TestClient,
    key: str,
    case: Case,
    values: Mapping[str, object],
    *,
    bearer: str | None = None,
) -> httpx.Response:
    """One HTTP request to the route, as ``client`` (its cookie) or with a Bearer token."""
    method, path = _path(key, values)
    path += case.query
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    signed_in = bearer is None and "mina_session" in client.cookies
    kwargs: dict[str, Any] = {}
    if case.kind == "api" and method != "GET" and signed_in:
        headers.update(csrf_header(client))
    if case.json is not None:
        kwargs["json"] = case.json
    if case.form is not None:
        token = csrf_from(client.get("/settings").text) if signed_in else "none"
        kwargs["data"] = {**case.form, "csrf_token": token}
    if case.upload:
        wav = write_wav(world.tmp_path / "upload.wav", speech_pcm(0.5))
        kwargs["files"] = {"file": (wav.name, wav.read_bytes(), "audio/wav")}
    return client.request(method, path, headers=headers, follow_redirects=False, **kwargs)


@dataclass(frozen=True)
class SocketAnswer:
    first: dict[str, Any]
    close_code: int | None


def _socket(
    client: TestClient,
    path: str,
    send: dict[str, Any] | None = None,
    bearer: str | None = None,
) -> SocketAnswer:
    """Connect, send one message, and read the first answer and the close code that follows."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    with client.websocket_connect(path, headers=headers) as ws:
        if send is not None:
            ws.send_json(send)
        first = ws.receive_json()
        try:
            ws.receive_json()
        except WebSocketDisconnect as closed:
            return SocketAnswer(first, closed.code)
    return SocketAnswer(first, None)


def fingerprint(world: World) -> object:
    """Every row of the owner's workspace a route could change, read from the database:
    meetings with their segments, speakers, insights and comments, tasks, webhooks, share
    links, invites, members, the seeded jobs and the revocations of the owner's tokens."""
    db = world.db
    db.rollback()  # see what the app committed
    owner = principal_of(db, OWNER)
    workspace = owner.workspace.id
    meetings = select(Meeting.id).where(Meeting.workspace_id == workspace)
    by_workspace = [Meeting, Task, Webhook, ShareLink, Invite, Membership]
    by_meeting = [Segment, MeetingSpeaker, MeetingInsights, Comment]
    tables: list[tuple[Any, Any]] = [
        *((model, model.workspace_id == workspace) for model in by_workspace),
        *((model, model.meeting_id.in_(meetings)) for model in by_meeting),
        (Job, Job.id.in_([world.job, world.export_job])),
    ]
    rows = {
        model.__tablename__: db.execute(
            select(model.__table__).where(where).order_by(*model.__table__.primary_key)
        ).all()
        for model, where in tables
    }
    rows["api_tokens"] = db.execute(
        select(ApiToken.id, ApiToken.revoked_at)
        .where(ApiToken.user_id == owner.user.id)
        .order_by(ApiToken.id)
    ).all()
    db.rollback()
    return rows


def _check_http_route(world: World, other: TestClient, key: str, case: Case) -> None:
    anonymous = TestClient(world.owner.app)
    values = world.resolve(case)
    before = fingerprint(world)

    theirs = call(world, other, key, case, values)
    if case.ids:
        missing = call(world, other, key, case, _missing(case, values))
        assert theirs.status_code == missing.status_code == 404, (key, theirs.text)
        assert theirs.content == missing.content, key
        assert theirs.headers["content-type"] == missing.headers["content-type"], key
    else:
        assert theirs.status_code == case.owner_status, (key, theirs.text)
    assert SECRET not in theirs.text, f"{key} shows another workspace the owner's data"

    nobody = call(world, anonymous, key, case, values)
    if case.kind == "api":
        assert nobody.status_code == 401, (key, nobody.text)
        assert nobody.json()["error"]["code"] == "unauthenticated", key
    else:
        assert nobody.status_code == 303, (key, nobody.text)
        assert nobody.headers["location"].startswith("/login?next="), key
    assert fingerprint(world) == before, f"{key} changed the owner's data for someone else"

    mine = call(world, world.owner, key, case, values)
    assert mine.status_code == case.owner_status, (key, mine.text)
    answers = [mine]
    if case.kind == "api":
        for how, token in world.tokens.items():
            answer = call(world, anonymous, key, case, world.resolve(case), bearer=token)
            assert answer.status_code == case.owner_status, (key, how, answer.text)
            answers.append(answer)
    if case.upload:  # the next routes' fingerprints must not move under a running job
        for answer in answers:
            assert wait_job(world.owner, answer.json()["job_id"])[0]["status"] == "done"
    wait_jobs_idle(world.db)


def wait_jobs_idle(db: Session, timeout_s: float = 60) -> None:
    """Until no job is queued or running (the post-meeting jobs an upload or a request
    queued): the fingerprints of the next routes must not move under them."""
    deadline = time.monotonic() + timeout_s
    while True:
        db.rollback()
        busy = db.scalars(
            select(Job.id).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        ).all()
        if not busy:
            return
        assert time.monotonic() < deadline, f"jobs {busy} still unfinished"
        time.sleep(0.05)


def _check_follow_live(world: World, other: TestClient) -> None:
    path = f"/ws/meetings/{world.meeting}/live"
    anonymous = TestClient(world.owner.app)
    mine = _socket(world.owner, path)
    assert mine.first["type"] == "transcript" and mine.first["status"] == "completed"
    assert SECRET in mine.first["segments"][0]["text"] and mine.close_code == 1000
    for token in world.tokens.values():
        assert _socket(anonymous, path, bearer=token).first == mine.first
    theirs = _socket(other, path)
    missing = _socket(other, f"/ws/meetings/{MISSING_ID}/live")
    assert theirs == missing and theirs.close_code == 4404, theirs
    assert theirs.first["type"] == "error" and theirs.first["code"] == "not_found"
    nobody = _socket(anonymous, path)
    assert nobody.close_code == 4401 and nobody.first["code"] == "unauthenticated"


def _check_transcribe(world: World, other: TestClient) -> None:
    anonymous = TestClient(world.owner.app)
    nobody = _socket(anonymous, "/ws/transcribe", {"type": "ping"})
    assert nobody.close_code == 4401 and nobody.first["code"] == "unauthenticated"
    # another workspace cannot record into the owner's meeting ...
    theirs = _socket(other, "/ws/transcribe", _start(world.meeting))
    missing = _socket(other, "/ws/transcribe", _start(MISSING_ID))
    assert theirs == missing and theirs.close_code == 4404, theirs
    # ... nor take over the owner's live recording, even with its resume token
    with world.owner.websocket_connect("/ws/transcribe") as ws:
        started = start(ws, title=f"{SECRET} (live)")
        resume = {"type": "resume", "resume_token": started["resume_token"]}
        theirs = _socket(other, "/ws/transcribe", {**resume, "session_id": started["session_id"]})
        missing = _socket(other, "/ws/transcribe", {**resume, "session_id": str(uuid.uuid4())})
        assert theirs == missing and theirs.close_code == 4404, theirs
        assert theirs.first["code"] == "session_not_found"
        ws.send_json({"type": "stop"})
        while ws.receive_json()["type"] != "stopped":
            pass
    for token in world.tokens.values():
        with anonymous.websocket_connect(
            "/ws/transcribe", headers={"Authorization": f"Bearer {token}"}
        ) as ws:
            start(ws, title="Recorded with a token")
            ws.send_json({"type": "stop"})
            while ws.receive_json()["type"] != "stopped":
                pass


def _start(meeting_id: int) -> dict[str, Any]:
    return {
        "type": "start",
        "sample_rate": 16000,
        "encoding": "pcm_s16le",
        "meeting_id": meeting_id,
    }


SOCKET_CHECKS: dict[str, Callable[[World, TestClient], None]] = {
    "WS /ws/transcribe": _check_transcribe,
    "WS /ws/meetings/{meeting_id}/live": _check_follow_live,
}


def test_authorization_matrix(world: World, other_client: TestClient) -> None:
    assert route_keys(world.owner.app) == MATRIX.keys() | PUBLIC  # the table covers the app
    for key, case in MATRIX.items():
        if case.kind == "ws":
            SOCKET_CHECKS[key](world, other_client)
        else:
            _check_http_route(world, other_client, key, case)


def test_revoked_tokens_stop_at_once_on_every_route(world: World) -> None:
    """Tokens from ``mina token create`` and /settings, revoked on /settings, answer 401 on
    every API route (and close 4401 on WebSockets) from the next request on."""
    anonymous = TestClient(world.owner.app)
    assert anonymous.get("/api/me", headers=_bearer(world.tokens["cli"])).status_code == 200
    listed = store.list_api_tokens(world.db, user=principal_of(world.db, OWNER).user)
    for token in listed:
        csrf = csrf_from(world.owner.get("/settings").text)
        revoked = world.owner.post(f"/settings/tokens/{token.id}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 200 and "Token revoked" in revoked.text
    for key, case in MATRIX.items():
        for how, token in world.tokens.items():
            if case.kind == "api":
                answer = call(world, anonymous, key, case, world.resolve(case), bearer=token)
                assert answer.status_code == 401, (key, how, answer.text)
                assert answer.json()["error"]["code"] == "invalid_token", (key, how)
            elif case.kind == "ws":
                path = _path(key, world.resolve(case))[1]
                closed = _socket(anonymous, path, {"type": "ping"}, bearer=token)
                assert closed.close_code == 4401 and closed.first["code"] == "invalid_token"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
