from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import security, store
from mina.models import Meeting, MeetingStatus, Membership, User, Workspace
from tests.conftest import PASSWORD, login


def test_user_without_a_workspace_gets_one_on_demand(client: TestClient, db: Session) -> None:
    user = User(
        email="lone@example.com", password_hash=security.hash_password(PASSWORD), name="Lone"
    )
    db.add(user)
    db.commit()
    assert db.scalar(select(Membership).where(Membership.user_id == user.id)) is None

    assert login(client, "lone@example.com") == 303
    me = client.get("/api/me").json()
    assert me["workspace"]["name"] == "Lone's Workspace" and me["workspace"]["role"] == "owner"
    db.expire_all()
    assert db.scalar(select(Membership).where(Membership.user_id == user.id)) is not None


def test_workspace_slugs_stay_unique(db: Session) -> None:
    a = store.create_user(db, email="a@example.com", password=PASSWORD, name="Sam")
    b = store.create_user(db, email="b@example.com", password=PASSWORD, name="Sam")
    db.commit()
    slugs = [
        w.slug for w in db.scalars(select(Workspace).where(Workspace.owner_id.in_([a.id, b.id])))
    ]
    assert len(set(slugs)) == 2 and all(s.startswith("sams-workspace") for s in slugs)


def test_another_workspaces_meeting_is_404_like_a_missing_one(
    user_client: TestClient, other_client: TestClient, db: Session
) -> None:
    ada = store.get_user_by_email(db, email="ada@example.com")
    assert ada is not None
    workspace = store.get_principal(db, user=ada).workspace
    meeting = Meeting(
        workspace_id=workspace.id,
        organizer_id=ada.id,
        title="Board review",
        status=MeetingStatus.COMPLETED,
    )
    db.add(meeting)
    db.commit()

    mine = user_client.get(f"/dashboard/meeting/{meeting.id}")
    assert mine.status_code == 200 and "Board review" in mine.text

    theirs = other_client.get(f"/dashboard/meeting/{meeting.id}")
    missing = other_client.get("/dashboard/meeting/999999")
    assert theirs.status_code == missing.status_code == 404
    assert "Board review" not in theirs.text
    assert theirs.text == missing.text
    # nor does it show in their lists
    assert "Board review" not in other_client.get("/dashboard").text
    assert "Board review" not in other_client.get("/dashboard/meetings").text
    assert "Board review" in user_client.get("/dashboard/meetings").text
