"""Transcript corrections over the API: segment edits (the original is kept), speaker renames,
validation, CSRF and the workspace boundary. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, Segment, utcnow
from mina.settings import Settings
from tests.meetingdata import Said, add_meeting, principal_of

SAID = [
    Said("hello and welcome", 0, 2_000, "Speaker 1"),
    Said("thanks for having me", 2_000, 4_500, "Speaker 2"),
    Said("let us begin", 4_500, 6_000, "Speaker 1"),
    Said("unlabelled remark", 6_000, 7_000, None),
]


def _csrf(client: TestClient) -> dict[str, str]:
    page = client.get("/dashboard").text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return {"X-CSRF-Token": token}


@pytest.fixture
def meeting(user_client: TestClient, db: Session, settings: Settings) -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Kick-off",
        started_at=utcnow() - timedelta(hours=1),
        said=SAID,
        audio_s=7,
    )


def _segments(client: TestClient, meeting_id: int) -> list[dict[str, object]]:
    response = client.get(f"/api/meetings/{meeting_id}/transcript")
    assert response.status_code == 200
    segments: list[dict[str, object]] = response.json()["segments"]
    return segments


def test_edit_keeps_the_original_and_shows_everywhere(
    user_client: TestClient, meeting: Meeting, db: Session
) -> None:
    first = _segments(user_client, meeting.id)[0]
    assert first["edited"] is False and first["original_text"] == "hello and welcome"
    response = user_client.patch(
        f"/api/segments/{first['id']}",
        json={"text": "  Hello, and  welcome! "},
        headers=_csrf(user_client),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "Hello, and welcome!" and body["edited"] is True
    assert body["original_text"] == "hello and welcome" and body["edited_at"]
    assert body["speaker"] == "Speaker 1"  # untouched
    assert _segments(user_client, meeting.id)[0]["text"] == "Hello, and welcome!"
    row = db.get(Segment, first["id"])
    assert row is not None and row.text == "hello and welcome"
    assert row.edited_text == "Hello, and welcome!" and row.edited_at is not None
    assert "Hello, and welcome!" in user_client.get(f"/dashboard/meeting/{meeting.id}").text

    # the engine's words again: no edit any more
    back = user_client.patch(
        f"/api/segments/{first['id']}",
        json={"text": "hello and welcome"},
        headers=_csrf(user_client),
    ).json()
    assert back["edited"] is False and back["edited_at"] is None


def test_edit_the_speaker_of_one_segment(user_client: TestClient, meeting: Meeting) -> None:
    segments = _segments(user_client, meeting.id)
    headers = _csrf(user_client)
    url = f"/api/segments/{segments[1]['id']}"
    named = user_client.patch(url, json={"speaker": " Grace "}, headers=headers).json()
    assert named["speaker"] == "Grace" and named["text"] == "thanks for having me"
    assert named["edited"] is False  # a speaker label is not a text edit
    cleared = user_client.patch(url, json={"speaker": None}, headers=headers).json()
    assert cleared["speaker"] is None
    both = user_client.patch(url, json={"speaker": "Grace", "text": "Thanks!"}, headers=headers)
    assert both.json()["speaker"] == "Grace" and both.json()["text"] == "Thanks!"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": None},
        {"text": "x" * 10_001},
        {"speaker": "x" * 101},
        {"txt": "typo"},
        {"text": 5},
    ],
)
def test_segment_patch_validation(
    user_client: TestClient, meeting: Meeting, body: dict[str, object]
) -> None:
    segment = _segments(user_client, meeting.id)[0]
    response = user_client.patch(
        f"/api/segments/{segment['id']}", json=body, headers=_csrf(user_client)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert _segments(user_client, meeting.id)[0] == segment


def test_cookie_writes_need_the_csrf_header(user_client: TestClient, meeting: Meeting) -> None:
    segment = _segments(user_client, meeting.id)[0]
    response = user_client.patch(f"/api/segments/{segment['id']}", json={"text": "sneaky"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    renamed = user_client.post(
        f"/api/meetings/{meeting.id}/speakers", json={"from": "Speaker 1", "to": "Mallory"}
    )
    assert renamed.status_code == 403
    assert _segments(user_client, meeting.id)[0]["text"] == "hello and welcome"


def test_a_token_can_edit(user_client: TestClient, meeting: Meeting, db: Session) -> None:
    user = store.get_user_by_email(db, email="ada@example.com")
    assert user is not None
    _, token = store.create_api_token(db, user=user, name="script")
    db.commit()
    segment = _segments(user_client, meeting.id)[2]
    response = user_client.patch(
        f"/api/segments/{segment['id']}",
        json={"text": "Let us begin."},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and response.json()["text"] == "Let us begin."


def test_another_workspaces_segment_is_404_like_a_missing_one(
    user_client: TestClient, other_client: TestClient, meeting: Meeting
) -> None:
    segment = _segments(user_client, meeting.id)[0]
    headers = _csrf(other_client)
    theirs = other_client.patch(
        f"/api/segments/{segment['id']}", json={"text": "overwritten"}, headers=headers
    )
    missing = other_client.patch("/api/segments/999999", json={"text": "x"}, headers=headers)
    assert theirs.status_code == missing.status_code == 404
    assert (
        theirs.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "Segment not found."}}
    )
    rename = other_client.post(
        f"/api/meetings/{meeting.id}/speakers",
        json={"from": "Speaker 1", "to": "Eve"},
        headers=headers,
    )
    assert rename.status_code == 404 and rename.json()["error"]["code"] == "not_found"
    assert [s["text"] for s in _segments(user_client, meeting.id)] == [s.text for s in SAID]
    assert [s["speaker"] for s in _segments(user_client, meeting.id)][0] == "Speaker 1"


def test_rename_a_speaker_across_the_meeting(
    user_client: TestClient, meeting: Meeting, db: Session, settings: Settings
) -> None:
    other = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Other",
        started_at=utcnow(),
        said=SAID[:1],
        audio_s=2,
    )
    headers = _csrf(user_client)
    url = f"/api/meetings/{meeting.id}/speakers"
    response = user_client.post(url, json={"from": "Speaker 1", "to": "Ada"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "meeting_id": meeting.id,
        "from": "Speaker 1",
        "to": "Ada",
        "segments": 2,
    }
    speakers = [s["speaker"] for s in _segments(user_client, meeting.id)]
    assert speakers == ["Ada", "Speaker 2", "Ada", None]
    # only this meeting
    assert _segments(user_client, other.id)[0]["speaker"] == "Speaker 1"
    # the unlabelled segments can be named too
    unlabelled = user_client.post(url, json={"from": None, "to": "Linus"}, headers=headers)
    assert unlabelled.json()["segments"] == 1
    assert _segments(user_client, meeting.id)[3]["speaker"] == "Linus"
    assert [
        (s.speaker, s.segments) for s in store.list_meeting_speakers(db, meeting_id=meeting.id)
    ] == [("Ada", 2), ("Speaker 2", 1), ("Linus", 1)]
    # a name nobody has changes nothing; the same name twice is refused
    none = user_client.post(url, json={"from": "Nobody", "to": "X"}, headers=headers)
    assert none.status_code == 200 and none.json()["segments"] == 0
    same = user_client.post(url, json={"from": "Ada", "to": " Ada "}, headers=headers)
    assert same.status_code == 422
    for bad in ({"to": "X"}, {"from": "Ada"}, {"from": "Ada", "to": "x" * 101}):
        assert user_client.post(url, json=bad, headers=headers).status_code == 422


def test_viewers_see_the_edit_too(user_client: TestClient, meeting: Meeting) -> None:
    segment = _segments(user_client, meeting.id)[0]
    user_client.patch(
        f"/api/segments/{segment['id']}",
        json={"text": "Hello, everyone."},
        headers=_csrf(user_client),
    )
    with user_client.websocket_connect(f"/ws/meetings/{meeting.id}/live") as ws:
        event = ws.receive_json()
    assert event["type"] == "transcript" and event["status"] == "completed"
    first = event["segments"][0]
    assert first["text"] == "Hello, everyone." and first["edited"] is True
    assert first["original_text"] == "hello and welcome"
