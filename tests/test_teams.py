"""Teams: invitations (by link and by a real SMTP server), accepting them, several workspaces,
roles changing, removing people (their tokens and live sockets stop at once) and handing over
ownership, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import Invite, Role, utcnow
from mina.settings import Settings
from mina.teams.mail import parse_smtp_url
from mina.web.app import create_app
from tests.conftest import csrf_from, login, signup
from tests.livehelp import start
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header

ADA, GRACE, ALAN = "ada@example.com", "grace@example.com", "alan@example.com"


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _client(app: FastAPI, email_address: str, name: str) -> TestClient:
    client = TestClient(app)
    signup(client, email_address, name)
    return client


def _api(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**csrf_header(client), **kwargs.pop("headers", {})}
    return client.request(method, path, headers=headers, **kwargs)


def _invite(client: TestClient, email_address: str, role: str = "member") -> dict[str, Any]:
    made = _api(
        client, "POST", "/api/workspace/invites", json={"email": email_address, "role": role}
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def _accept_on_page(client: TestClient, url: str) -> Any:
    path = url.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200 and "Accept and join" in page.text, page.text
    return client.post(path, data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)


def test_an_emailed_invite_is_accepted_by_a_new_account(
    settings: Settings, inbox: tuple[Inbox, int], db: Session
) -> None:
    handler, port = inbox
    settings.smtp_url = f"smtp://127.0.0.1:{port}"
    settings.mail_from = "Mina <mina@example.com>"
    app = create_app(settings)
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada Lovelace")
        made = _invite(ada, "Grace@Example.com", "viewer")
        assert made["email"] == GRACE and made["role"] == "viewer" and made["emailed"] is True
        assert made["url"] == f"http://testserver/invite/{made['token']}"
        expires = store.get_invite(
            db, workspace_id=principal_of(db, ADA).workspace.id, invite_id=made["id"]
        )
        assert expires is not None
        assert timedelta(days=6, hours=23) < expires.expires_at - utcnow() <= timedelta(days=7)
        # the email reached the SMTP server, with the link
        ((recipients, message),) = handler.messages
        assert recipients == [GRACE] and message["To"] == GRACE
        assert message["From"] == "Mina <mina@example.com>"
        assert "Ada Lovelace invited you" in message["Subject"]
        assert made["url"] in message.get_payload(decode=True).decode()
        # the database keeps the token's hash only
        assert made["token"] not in str(db.get(Invite, made["id"]).__dict__)

        grace = TestClient(app)
        page = grace.get(made["url"].removeprefix("http://testserver"))
        assert page.status_code == 200 and "Create an account to join" in page.text
        assert "g***@example.com" in page.text and GRACE not in page.text
        assert page.headers["x-robots-tag"] == "noindex"
        signup_page = grace.get(f"/signup?next=/invite/{made['token']}")
        assert f'value="{GRACE}"' in signup_page.text
        made_account = grace.post(
            "/signup",
            data={
                "name": "Grace Hopper",
                "email": GRACE,
                "password": "a long password",
                "csrf_token": csrf_from(signup_page.text),
                "next": f"/invite/{made['token']}",
            },
            follow_redirects=False,
        )
        assert made_account.headers["location"] == f"/invite/{made['token']}"
        joined = _accept_on_page(grace, made["url"])
        assert joined.status_code == 303 and joined.headers["location"] == "/dashboard"
        me = grace.get("/api/me").json()
        assert me["workspace"]["name"] == "Ada Lovelace's Workspace"
        assert me["workspace"]["role"] == "viewer"
        listed = grace.get("/api/workspaces").json()["items"]
        assert [(w["name"], w["role"], w["current"]) for w in listed] == [
            ("Grace Hopper's Workspace", "owner", False),
            ("Ada Lovelace's Workspace", "viewer", True),
        ]
        # used once: the link is gone now, on the page and the API
        assert grace.get(made["url"].removeprefix("http://testserver")).status_code == 404
        again = _api(grace, "POST", f"/api/invites/{made['token']}/accept")
        assert again.status_code == 404 and again.json()["error"]["code"] == "invite_not_found"
        members = ada.get("/api/workspace/members").json()["items"]
        assert [(m["name"], m["role"]) for m in members] == [
            ("Ada Lovelace", "owner"),
            ("Grace Hopper", "viewer"),
        ]
        assert ada.get("/api/workspace/invites").json()["items"] == []


def test_invites_by_link_expire_are_revoked_and_match_the_email(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada")
        grace = _client(app, GRACE, "Grace")
        alan = _client(app, ALAN, "Alan")
        made = _invite(ada, GRACE)
        assert made["emailed"] is False and made["email_error"] is None  # no MINA_SMTP_URL
        pending = ada.get("/api/workspace/invites").json()["items"]
        assert [(i["email"], i["role"], i["invited_by"]["name"]) for i in pending] == [
            (GRACE, "member", "Ada")
        ]
        assert "token" not in pending[0]
        # another account cannot use it
        wrong = _api(alan, "POST", f"/api/invites/{made['token']}/accept")
        assert wrong.status_code == 403
        assert wrong.json()["error"]["code"] == "invite_email_mismatch"
        assert "g***@example.com" in wrong.json()["error"]["message"]
        # revoked: gone at once
        assert _api(ada, "DELETE", f"/api/workspace/invites/{made['id']}").status_code == 204
        gone = _api(grace, "POST", f"/api/invites/{made['token']}/accept")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "invite_not_found"
        # expired: gone too, and looks the same
        late = _invite(ada, GRACE)
        invite = db.get(Invite, late["id"])
        assert invite is not None
        invite.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        expired = _api(grace, "POST", f"/api/invites/{late['token']}/accept")
        assert expired.status_code == 404 and expired.json() == gone.json()
        assert grace.get(f"/invite/{late['token']}").status_code == 404
        # accepted with the API: the browser acts in the new workspace from now on
        fresh = _invite(ada, GRACE, "viewer")
        accepted = _api(grace, "POST", f"/api/invites/{fresh['token']}/accept")
        assert accepted.status_code == 200
        ada_workspace = principal_of(db, ADA).workspace.id
        assert accepted.json() == {"workspace_id": ada_workspace, "role": "viewer"}
        assert grace.get("/api/me").json()["workspace"]["id"] == ada_workspace
        # inviting a member again is a conflict; bad input is refused clearly
        again = _api(ada, "POST", "/api/workspace/invites", json={"email": GRACE})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_member"
        bad = _api(ada, "POST", "/api/workspace/invites", json={"email": "not an address"})
        assert bad.status_code == 422
        owner = _api(ada, "POST", "/api/workspace/invites", json={"email": ALAN, "role": "owner"})
        assert owner.status_code == 422


def test_closed_signup_lets_the_invited_in_only(settings: Settings, db: Session) -> None:
    settings.allow_signup = False
    app = create_app(settings)
    with TestClient(app) as ada:
        store.create_user(db, email=ADA, password="a long password", name="Ada")
        db.commit()
        assert login(ada, ADA, "a long password") == 303
        made = _invite(ada, GRACE)
        closed = TestClient(app).get("/signup")
        assert closed.status_code == 403 and "Sign-up is closed" in closed.text
        grace = TestClient(app)
        page = grace.get(f"/signup?next=/invite/{made['token']}")
        assert page.status_code == 200
        form = {"name": "Grace", "password": "a long password", "csrf_token": csrf_from(page.text)}
        someone_else = grace.post(
            "/signup",
            data={**form, "email": ALAN, "next": f"/invite/{made['token']}"},
            follow_redirects=False,
        )
        assert someone_else.status_code == 403
        invited = grace.post(
            "/signup",
            data={**form, "email": GRACE, "next": f"/invite/{made['token']}"},
            follow_redirects=False,
        )
        assert invited.status_code == 303
        assert _accept_on_page(grace, made["url"]).status_code == 303


def test_x_mina_workspace_names_one_of_the_callers_workspaces(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada")
        _client(app, GRACE, "Grace")
        ada_principal = principal_of(db, ADA)
        add_meeting(
            db,
            principal=ada_principal,
            audio_dir=app.state.settings.audio_dir,
            title="Ada's planning",
            started_at=utcnow(),
            said=[Said("We plan.", 0, 1000, "Ada")],
            audio_s=1.0,
        )
        grace_user = principal_of(db, GRACE).user
        store.add_member(
            db, workspace_id=ada_principal.workspace.id, user_id=grace_user.id, role=Role.VIEWER
        )
        _, token = store.create_api_token(db, user=grace_user, name="script")
        db.commit()
        bearer = {"Authorization": f"Bearer {token}"}
        api = TestClient(app)
        # the token acts in Grace's own workspace ...
        assert api.get("/api/meetings", headers=bearer).json()["items"] == []
        # ... or in Ada's, when the header names it
        named = {**bearer, "X-Mina-Workspace": str(ada_principal.workspace.id)}
        titles = [m["title"] for m in api.get("/api/meetings", headers=named).json()["items"]]
        assert titles == ["Ada's planning"]
        me = api.get("/api/me", headers=named).json()
        assert me["workspace"]["role"] == "viewer"
        refused = api.patch("/api/workspace", headers=named, json={"name": "Grace's now"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        # a workspace that is not theirs, or nonsense, is not found
        alan = store.create_user(db, email=ALAN, password="a long password")
        db.commit()
        alans = principal_of(db, ALAN).workspace.id
        for value in (str(alans), "0", "abc", "99999999999"):
            answer = api.get("/api/meetings", headers={**bearer, "X-Mina-Workspace": value})
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        assert alan is not None


def test_roles_change_within_the_rules(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada")
        workspace_id = principal_of(db, ADA).workspace.id
        people = {}
        for address, role in ((GRACE, Role.ADMIN), (ALAN, Role.MEMBER)):
            client = _client(app, address, address.split("@")[0].title())
            user = principal_of(db, address).user
            store.add_member(db, workspace_id=workspace_id, user_id=user.id, role=role)
            db.commit()
            people[address] = (client, user.id)
        grace, grace_id = people[GRACE]
        alan, alan_id = people[ALAN]
        in_ada = {"X-Mina-Workspace": str(workspace_id)}
        # the admin makes the member a viewer, but cannot make admins or touch the owner
        viewer = _api(
            grace,
            "PATCH",
            f"/api/workspace/members/{alan_id}",
            headers=in_ada,
            json={"role": "viewer"},
        )
        assert viewer.status_code == 200 and viewer.json()["role"] == "viewer"
        admin = _api(
            grace,
            "PATCH",
            f"/api/workspace/members/{alan_id}",
            headers=in_ada,
            json={"role": "admin"},
        )
        assert admin.status_code == 403
        owner_id = principal_of(db, ADA).user.id
        touch = _api(
            grace,
            "PATCH",
            f"/api/workspace/members/{owner_id}",
            headers=in_ada,
            json={"role": "member"},
        )
        assert touch.status_code == 409 and touch.json()["error"]["code"] == "owner_role"
        gone = _api(grace, "DELETE", f"/api/workspace/members/{owner_id}", headers=in_ada)
        assert gone.status_code == 409 and gone.json()["error"]["code"] == "owner_cannot_leave"
        # the viewer cannot invite; the admin cannot invite admins
        refused = _api(
            alan, "POST", "/api/workspace/invites", headers=in_ada, json={"email": "x@example.com"}
        )
        assert refused.status_code == 403
        no_admins = _api(
            grace,
            "POST",
            "/api/workspace/invites",
            headers=in_ada,
            json={"email": "x@example.com", "role": "admin"},
        )
        assert no_admins.status_code == 403
        # ownership passes to the admin; Ada becomes an admin
        handed = _api(ada, "POST", "/api/workspace/transfer", json={"user_id": grace_id})
        assert handed.status_code == 200
        roles = {m["email"]: m["role"] for m in handed.json()["items"]}
        assert roles == {ADA: "admin", GRACE: "owner", ALAN: "viewer"}
        assert ada.get("/api/me").json()["workspace"]["role"] == "admin"
        assert (
            _api(ada, "POST", "/api/workspace/transfer", json={"user_id": alan_id}).status_code
            == 403
        )
        # a viewer may leave on their own
        left = _api(alan, "DELETE", f"/api/workspace/members/{alan_id}", headers=in_ada)
        assert left.status_code == 204
        assert _api(alan, "GET", "/api/meetings", headers=in_ada).status_code == 404


def test_removing_a_member_ends_their_access_at_once(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada")
        grace = _client(app, GRACE, "Grace")
        workspace_id = principal_of(db, ADA).workspace.id
        grace_user = principal_of(db, GRACE).user
        store.add_member(db, workspace_id=workspace_id, user_id=grace_user.id, role=Role.VIEWER)
        db.commit()
        csrf = csrf_from(grace.get("/settings").text)
        grace.post("/workspace/switch", data={"workspace_id": workspace_id, "csrf_token": csrf})
        assert grace.get("/api/me").json()["workspace"]["id"] == workspace_id
        in_ada = {"Authorization": f"Bearer {_token(grace)}"}
        own_token = store.create_api_token(db, user=grace_user, name="own workspace")[1]
        db.commit()
        api = TestClient(app)
        assert api.get("/api/meetings", headers=in_ada).status_code == 200
        with ada.websocket_connect("/ws/transcribe") as recording:
            started = start(recording, title="Board review")
            meeting_id = started["meeting_id"]
            with grace.websocket_connect(f"/ws/meetings/{meeting_id}/live") as viewer:
                assert viewer.receive_json()["status"] == "live"
                removed = _api(ada, "DELETE", f"/api/workspace/members/{grace_user.id}")
                assert removed.status_code == 204
                cut = viewer.receive_json()
                assert cut["type"] == "error" and cut["code"] == "access_revoked"
                with pytest.raises(Exception) as closed:
                    viewer.receive_json()
                assert getattr(closed.value, "code", None) == 4403
            recording.send_json({"type": "stop"})
            while recording.receive_json()["type"] != "stopped":
                pass
        # the token made in Ada's workspace is revoked; the page session falls back to her own
        refused = api.get("/api/meetings", headers=in_ada)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
        assert (
            api.get("/api/me", headers={"Authorization": f"Bearer {own_token}"}).status_code == 200
        )
        me = grace.get("/api/me").json()
        assert me["workspace"]["name"] == "Grace's Workspace" and me["workspace"]["role"] == "owner"
        assert grace.get(f"/api/meetings/{meeting_id}").status_code == 404
        assert grace.get(f"/dashboard/meeting/{meeting_id}").status_code == 404


def _token(client: TestClient) -> str:
    """A token made on /settings, acting in the workspace the page is in."""
    csrf = csrf_from(client.get("/settings").text)
    page = client.post("/settings/tokens", data={"name": "script", "csrf_token": csrf})
    match = re.search(r'id="new-token">(mina_[^<]+)<', page.text)
    assert match
    return match.group(1)


def test_viewers_see_no_recording_or_editing_controls(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada")
        grace = _client(app, GRACE, "Grace")
        owner = principal_of(db, ADA)
        meeting = add_meeting(
            db,
            principal=owner,
            audio_dir=app.state.settings.audio_dir,
            title="Weekly sync",
            started_at=utcnow(),
            said=[Said("Hello.", 0, 1000, "Ada")],
            audio_s=1.0,
        )
        store.add_member(
            db,
            workspace_id=owner.workspace.id,
            user_id=principal_of(db, GRACE).user.id,
            role=Role.VIEWER,
        )
        db.commit()
        csrf = csrf_from(grace.get("/settings").text)
        grace.post(
            "/workspace/switch", data={"workspace_id": owner.workspace.id, "csrf_token": csrf}
        )
        dashboard = grace.get("/dashboard").text
        assert 'href="/live"' not in dashboard and 'href="/upload"' not in dashboard
        page = grace.get(f"/dashboard/meeting/{meeting.id}").text
        assert 'data-can-edit="false"' in page and "seg-edit" not in page
        assert grace.get("/live").status_code == 403
        assert 'data-can-edit="true"' in ada.get(f"/dashboard/meeting/{meeting.id}").text


def test_smtp_urls_are_checked_at_start() -> None:
    assert parse_smtp_url("smtps://me%40x.com:p%2Fw@mail.example.com").port == 465
    server = parse_smtp_url("smtp+starttls://mail.example.com")
    assert (server.host, server.port, server.username) == ("mail.example.com", 587, "")
    for bad in ("mail.example.com", "http://mail.example.com", "smtp://", "smtp://h:99999"):
        with pytest.raises(ValueError, match="MINA_SMTP_URL"):
            parse_smtp_url(bad)
    with pytest.raises(ValueError, match="MINA_SMTP_URL"):
        Settings(smtp_url="smtp:/nohost", _env_file=None)  # type: ignore[call-arg]


def test_a_cli_token_acts_in_the_workspace_it_names(
    client: TestClient, db: Session, cli_env: dict[str, str]
) -> None:
    from click.testing import CliRunner

    from mina.cli import main

    ada = store.create_user(db, email=ADA, password="a long password", name="Ada")
    grace = store.create_user(db, email=GRACE, password="a long password", name="Grace")
    ada_workspace = principal_of(db, ADA).workspace
    store.add_member(db, workspace_id=ada_workspace.id, user_id=grace.id, role=Role.MEMBER)
    db.commit()
    runner = CliRunner()
    made = runner.invoke(
        main, ["token", "create", GRACE, "--workspace", str(ada_workspace.id)], env=cli_env
    )
    assert made.exit_code == 0, made.output
    me = client.get("/api/me", headers={"Authorization": f"Bearer {made.output.strip()}"})
    assert me.json()["workspace"]["id"] == ada_workspace.id
    theirs = principal_of(db, GRACE).workspace.id
    assert theirs != ada_workspace.id
    refused = runner.invoke(main, ["token", "create", ADA, "--workspace", str(theirs)], env=cli_env)
    assert refused.exit_code != 0 and "not a member" in refused.output
    assert ada is not None


def test_an_invited_account_holder_finds_it_in_the_bell(app: FastAPI, db: Session) -> None:
    with TestClient(app) as ada:
        signup(ada, ADA, "Ada Lovelace")
        grace = _client(app, GRACE, "Grace")
        made = _invite(ada, GRACE, "viewer")
        bell = grace.get("/api/notifications?unread=true").json()
        (item,) = bell["items"]
        assert item["type"] == "invite" and item["url"] == "/invites", item
        assert "Ada Lovelace invited you" in item["text"]
        page = grace.get("/invites")
        assert (
            "Ada Lovelace&#39;s Workspace" in page.text or "Ada Lovelace's Workspace" in page.text
        )
        joined = grace.post(
            f"/invites/{made['id']}/accept",
            data={"csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert joined.status_code == 303 and joined.headers["location"] == "/dashboard"
        assert grace.get("/api/me").json()["workspace"]["role"] == "viewer"
        # used: it is gone from the list, and accepting again says so
        assert "No open invitations" in grace.get("/invites").text
        again = grace.post(
            f"/invites/{made['id']}/accept", data={"csrf_token": csrf_from(page.text)}
        )
        assert "does not exist" in again.text
