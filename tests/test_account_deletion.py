"""Deleting an account with ``DELETE /api/me``, on SQLite and PostgreSQL: a wrong or missing
password deletes nothing; the right one deletes the user, their tokens (401 at once) and
sign-ins (the cookie stops working, even for a new account that gets the same id), and their
own workspace with its meetings and audio files; a shared workspace stays with its members;
another workspace is untouched; a live recording refuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mina import store
from mina.models import (
    ApiToken,
    Job,
    Meeting,
    Membership,
    RecordingSession,
    Role,
    Segment,
    User,
    Workspace,
    utcnow,
)
from mina.settings import Settings
from tests.conftest import PASSWORD, csrf_from, signup
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header, wait_job

ADA, GRACE = "ada@example.com", "grace@example.com"


def make_meeting(
    db: Session, settings: Settings, principal: store.Principal, title: str, **kwargs: Any
) -> int:
    return add_meeting(
        db,
        principal=principal,
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow() - timedelta(hours=3),
        said=[Said(f"{title}: first point.", 0, 1200, "Ada"), Said("Agreed.", 1200, 2000)],
        audio_s=2.0,
        **kwargs,
    ).id


def audio_files(db: Session, meeting_id: int) -> list[Path]:
    return [
        Path(p)
        for p in db.scalars(
            select(RecordingSession.audio_path).where(RecordingSession.meeting_id == meeting_id)
        )
    ]


def delete_me(client: TestClient, password: str | None = PASSWORD, **headers: str) -> Any:
    body = None if password is None else {"password": password}
    if "Authorization" not in headers:
        headers = {**csrf_header(client), **headers}
    return client.request("DELETE", "/api/me", json=body, headers=headers)


def count(db: Session, model: Any, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_wrong_or_missing_password_deletes_nothing(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings, principal_of(db, ADA), "Roadmap")
    _, token = store.create_api_token(db, user=principal_of(db, ADA).user, name="script")
    db.commit()
    bearer = {"Authorization": f"Bearer {token}"}

    for body, status, code in [
        (None, 422, "validation_error"),
        ("", 422, "validation_error"),
        ("not my password", 403, "wrong_password"),
    ]:
        answer = delete_me(user_client, body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code
        answer = delete_me(user_client, body, **bearer)
        assert answer.status_code == status and answer.json()["error"]["code"] == code
    no_csrf = user_client.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"

    assert user_client.get("/api/me").status_code == 200
    assert user_client.get(f"/api/meetings/{meeting}").status_code == 200
    assert all(path.exists() for path in audio_files(db, meeting))
    assert count(db, User) == 1 and count(db, ApiToken) == 1


def test_wrong_passwords_are_throttled(app: Any, db: Session, settings: Settings) -> None:
    with TestClient(app) as client:
        signup(client, ADA)
        for _ in range(settings.login_attempts_per_minute):
            assert delete_me(client, "guess").status_code == 403
        throttled = delete_me(client, PASSWORD)
        assert throttled.status_code == 429 and throttled.json()["error"]["code"] == (
            "too_many_attempts"
        )
        assert int(throttled.headers["retry-after"]) > 0
    assert count(db, User) == 1


def test_deleting_an_account_removes_its_workspace_meetings_audio_tokens_and_sign_ins(
    user_client: TestClient,
    other_client: TestClient,
    db: Session,
    settings: Settings,
) -> None:
    ada = principal_of(db, ADA)
    ada_id, workspace_id = ada.user.id, ada.workspace.id
    mine = [make_meeting(db, settings, ada, f"Ada's meeting {i}") for i in range(3)]
    theirs = make_meeting(db, settings, principal_of(db, GRACE), "Grace's meeting")
    # a playback copy beside the audio, a finished data export, a token
    assert user_client.get(f"/api/meetings/{mine[0]}/audio?format=opus").status_code == 200
    exported = user_client.post("/api/me/export", headers=csrf_header(user_client))
    assert wait_job(user_client, exported.json()["job_id"])[0]["status"] == "done"
    _, token = store.create_api_token(db, user=ada.user, name="script")
    db.commit()
    files = [path for m in mine for path in audio_files(db, m)]
    pending_upload = settings.upload_dir / str(workspace_id) / "upload-in-flight.mp3"
    pending_upload.parent.mkdir(parents=True)
    pending_upload.write_bytes(b"ID3")
    copies = list(settings.audio_dir.glob(f"{workspace_id}/meeting-{mine[0]}-*.opus"))
    assert files and copies and all(p.exists() for p in files + copies)
    assert (settings.export_dir / str(ada_id)).is_dir()
    cookie = user_client.cookies["mina_session"]
    grace_before = (
        other_client.get(f"/api/meetings/{theirs}/transcript").json(),
        other_client.get(f"/api/meetings/{theirs}/audio").content,
    )

    answer = delete_me(user_client)

    assert answer.status_code == 204, answer.text
    # this browser's cookie now signs no one in (it only carries the message for the login page)
    signer = user_client.app.state.cookie_signer
    assert "uid" not in signer.loads(user_client.cookies["mina_session"])
    # the token and the old cookie answer 401 from the next request on
    api = TestClient(user_client.app)
    refused = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
    stolen = TestClient(user_client.app, cookies={"mina_session": cookie})
    assert stolen.get("/api/me").status_code == 401
    page = stolen.get("/settings", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # the browser lands on the login page with a word of what happened
    assert "Your account and its data were deleted." in user_client.get("/login").text

    assert count(db, User, User.id == ada_id) == 0
    assert count(db, Workspace, Workspace.id == workspace_id) == 0
    assert count(db, Membership, Membership.user_id == ada_id) == 0
    assert count(db, ApiToken, ApiToken.user_id == ada_id) == 0
    assert count(db, Meeting, Meeting.workspace_id == workspace_id) == 0
    assert count(db, RecordingSession, RecordingSession.workspace_id == workspace_id) == 0
    assert count(db, Segment, Segment.meeting_id.in_(mine)) == 0
    assert count(db, Job, Job.workspace_id == workspace_id) == 0
    assert not any(p.exists() for p in files + copies)
    assert not (settings.audio_dir / str(workspace_id)).exists()
    assert not pending_upload.parent.exists()
    assert not (settings.export_dir / str(ada_id)).exists()

    # Grace's workspace is untouched
    assert other_client.get(f"/api/meetings/{theirs}/transcript").json() == grace_before[0]
    assert other_client.get(f"/api/meetings/{theirs}/audio").content == grace_before[1]
    assert all(p.exists() for p in audio_files(db, theirs))

    # a new account, even one that gets the deleted id back, is not signed in by the old cookie
    with TestClient(user_client.app) as newcomer:
        signup(newcomer, ADA, "Ada again")
        assert newcomer.get("/api/me").json()["name"] == "Ada again"
    assert stolen.get("/api/me").status_code == 401


def test_a_token_deletes_its_own_account(
    user_client: TestClient, db: Session, backend: str
) -> None:
    user = principal_of(db, ADA).user
    old_id = user.id
    _, token = store.create_api_token(db, user=user, name="script")
    db.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    api = TestClient(user_client.app)
    answer = api.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=bearer)
    assert answer.status_code == 204 and "set-cookie" not in answer.headers
    assert api.get("/api/me", headers=bearer).status_code == 401
    assert user_client.get("/api/me").status_code == 401
    assert count(db, User) == 0
    # SQLite gives the next account the deleted one's id: the old cookie still signs no one in
    with TestClient(user_client.app) as newcomer:
        signup(newcomer, "someone.else@example.com")
        new_id = newcomer.get("/api/me").json()["id"]
    assert new_id == old_id or backend == "postgresql"
    assert user_client.get("/api/me").status_code == 401


def test_a_shared_workspace_stays_with_its_members(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    """Grace belongs to Ada's workspace too. When Ada, its owner, leaves, Grace owns it and the
    meetings Ada organised there; when Grace then leaves, her own workspace goes and her
    meetings in the shared one pass to its owner."""
    ada, grace = principal_of(db, ADA), principal_of(db, GRACE)
    shared, graces_own = ada.workspace.id, grace.workspace.id
    db.add(Membership(user_id=grace.user.id, workspace_id=shared, role=Role.MEMBER))
    db.commit()
    grace_in_shared = store.Principal(user=grace.user, workspace=ada.workspace, role=Role.MEMBER)
    adas = make_meeting(db, settings, ada, "Ada's plan")
    graces = make_meeting(db, settings, grace_in_shared, "Grace's notes")
    private = make_meeting(db, settings, grace, "Grace's private meeting")
    files = audio_files(db, adas) + audio_files(db, graces)
    grace_id = grace.user.id

    assert delete_me(user_client).status_code == 204

    db.expire_all()
    workspace = db.get(Workspace, shared)
    assert workspace is not None and workspace.owner_id == grace_id
    roles = db.scalars(select(Membership.role).where(Membership.workspace_id == shared)).all()
    assert roles == [Role.OWNER]
    meeting = db.get(Meeting, adas)
    assert meeting is not None and meeting.organizer_id == grace_id
    recorder = db.scalar(
        select(RecordingSession.user_id).where(RecordingSession.meeting_id == adas)
    )
    assert recorder is None
    assert all(p.exists() for p in files)
    assert len(store.list_transcript(db, meeting_id=adas)) == 2

    # Grace leaves too: her own workspace goes; the shared one, hers alone now, goes as well
    answer = delete_me(other_client)
    assert answer.status_code == 204, answer.text
    assert count(db, Workspace) == 0 and count(db, Meeting) == 0
    assert not any(p.exists() for p in files + audio_files(db, private))
    assert not (settings.audio_dir / str(graces_own)).exists()


def test_a_member_who_leaves_gives_their_meetings_to_the_owner(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    ada, grace = principal_of(db, ADA), principal_of(db, GRACE)
    db.add(Membership(user_id=grace.user.id, workspace_id=ada.workspace.id, role=Role.ADMIN))
    db.commit()
    graces = make_meeting(
        db,
        settings,
        store.Principal(user=grace.user, workspace=ada.workspace, role=Role.ADMIN),
        "Grace's notes",
    )
    ada_id, shared = ada.user.id, ada.workspace.id

    assert delete_me(other_client).status_code == 204

    db.expire_all()
    meeting = db.get(Meeting, graces)
    assert meeting is not None and meeting.organizer_id == ada_id
    workspace = db.get(Workspace, shared)
    assert workspace is not None and workspace.owner_id == ada_id
    assert user_client.get(f"/api/meetings/{graces}/audio").status_code == 200


@pytest.mark.parametrize("whose", ["mine", "a recording in my workspace"])
def test_a_live_recording_refuses_the_deletion(
    user_client: TestClient, db: Session, settings: Settings, whose: str
) -> None:
    ada = principal_of(db, ADA)
    live = make_meeting(db, settings, ada, "Recording now", live=True)
    if whose != "mine":
        db.execute(
            RecordingSession.__table__.update()
            .where(RecordingSession.meeting_id == live)
            .values(user_id=None)
        )
        db.commit()

    answer = delete_me(user_client)

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "recording_live"
    assert user_client.get("/api/me").status_code == 200
    assert all(p.exists() for p in audio_files(db, live))


def test_the_settings_page_asks_for_the_password(user_client: TestClient) -> None:
    page = user_client.get("/settings").text
    assert "Delete my account" in page and 'type="password"' in page
    assert '<script type="module" src="/static/js/settings.js' in page
    assert "onclick" not in page and "<script>" not in page
    assert csrf_from(page)
