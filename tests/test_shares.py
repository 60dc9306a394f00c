"""Share links on both databases: made, listed and revoked through the API (the token only in
the answer that made it, its SHA-256 in the database), validation, another workspace's meeting
or link answering like a missing one; the public page ``/s/{token}`` (title, summary, action
items, transcript), its audio only when included (with Range), the one 404 page for unknown,
expired and revoked links, its headers, its rate limit, following a meeting still recorded;
links go with their meeting, and outlive the account of whoever made them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, Membership, Role, ShareLink, utcnow
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import PASSWORD, signup
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header

OWNER = "ada@example.com"
SAID = [
    Said("Welcome to the hosting review.", 0, 2_000, "Ada"),
    Said("Grace will send the quote tomorrow.", 2_000, 4_500, "Grace"),
]


def make_meeting(db: Session, settings: Settings, *, live: bool = False) -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, OWNER),
        audio_dir=settings.audio_dir,
        title="Hosting review",
        started_at=utcnow() - timedelta(hours=1),
        said=SAID,
        audio_s=5,
        live=live,
    )


def share(client: TestClient, meeting_id: int, **body: object) -> dict[str, object]:
    made = client.post(f"/api/meetings/{meeting_id}/shares", json=body, headers=csrf_header(client))
    assert made.status_code == 201, made.text
    data: dict[str, object] = made.json()
    return data


def path_of(url: object) -> str:
    assert isinstance(url, str) and url.startswith("http://testserver/s/"), url
    return url.removeprefix("http://testserver")


def test_create_list_and_revoke(user_client: TestClient, db: Session, settings: Settings) -> None:
    meeting = make_meeting(db, settings)
    made = share(user_client, meeting.id, expires_in_days=30, include_audio=True)
    assert set(made) == {"id", "url", "expires_at", "include_audio"} and made["include_audio"]
    token = path_of(made["url"]).removeprefix("/s/")
    assert len(token) >= 40
    db.expire_all()
    row = db.get(ShareLink, made["id"])
    assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr([getattr(row, c.key) for c in ShareLink.__table__.columns])
    assert timedelta(days=29, hours=23) < row.expires_at - utcnow() <= timedelta(days=30)
    default = share(user_client, meeting.id)  # 7 days, no audio
    assert default["include_audio"] is False

    listed = user_client.get(f"/api/meetings/{meeting.id}/shares")
    assert listed.status_code == 200 and token not in listed.text
    items = listed.json()["items"]
    assert [i["id"] for i in items] == [default["id"], made["id"]]
    assert items[1]["created_by"]["name"] == "Ada Lovelace" and items[1]["active"] is True
    assert set(items[1]) == {
        "id", "expires_at", "include_audio", "created_at", "created_by", "revoked_at", "active"
    }  # fmt: skip
    assert user_client.get(f"/s/{token}").status_code == 200

    revoked = user_client.delete(f"/api/shares/{made['id']}", headers=csrf_header(user_client))
    assert revoked.status_code == 204
    assert user_client.get(f"/s/{token}").status_code == 404
    again = user_client.delete(f"/api/shares/{made['id']}", headers=csrf_header(user_client))
    assert again.status_code == 204  # revoking twice keeps the first time
    after = user_client.get(f"/api/meetings/{meeting.id}/shares").json()["items"]
    assert after[1]["active"] is False and after[1]["revoked_at"] is not None
    assert after[0]["active"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_days": 0},
        {"expires_in_days": 91},
        {"expires_in_days": True},
        {"expires_in_days": "7"},
        {"expires_in_days": 7.5},
        {"expires_in_days": None},
        {"include_audio": "true"},
        {"include_audio": 1},
    ],
)
def test_invalid_bodies_answer_422(
    body: dict[str, object], user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    answer = user_client.post(
        f"/api/meetings/{meeting.id}/shares", json=body, headers=csrf_header(user_client)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"
    assert db.scalars(select(ShareLink)).all() == []


def test_another_workspace_gets_404_like_a_missing_id(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    made = share(user_client, meeting.id)
    headers = csrf_header(other_client)
    for method, path, missing in [
        ("POST", f"/api/meetings/{meeting.id}/shares", "/api/meetings/2000000000/shares"),
        ("GET", f"/api/meetings/{meeting.id}/shares", "/api/meetings/2000000000/shares"),
        ("DELETE", f"/api/shares/{made['id']}", "/api/shares/2000000000"),
    ]:
        theirs = other_client.request(method, path, json={}, headers=headers)
        nothing = other_client.request(method, missing, json={}, headers=headers)
        assert theirs.status_code == nothing.status_code == 404, (method, path)
        assert theirs.content == nothing.content, (method, path)
    assert user_client.get(path_of(made["url"])).status_code == 200  # not revoked by them
    assert len(db.scalars(select(ShareLink)).all()) == 1


def test_the_shared_page_shows_the_meeting_without_a_login(
    user_client: TestClient, app: object, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    segments = store.list_transcript(db, meeting_id=meeting.id)
    store.save_insights(
        db,
        meeting_id=meeting.id,
        provider="scripted",
        model="rules v1",
        data={
            "summary": [
                {
                    "text": "Hosting costs were reviewed.",
                    "segment_id": segments[0].id,
                    "start_ms": 0,
                }
            ],
            "action_items": [
                {
                    "text": "Send the hosting quote",
                    "segment_id": segments[1].id,
                    "start_ms": 2_000,
                    "owner": "Grace",
                    "due_date": "2026-12-07",
                }
            ],
        },
        sentiment=None,
        segment_sentiment={},
    )
    db.commit()
    path = path_of(share(user_client, meeting.id)["url"])
    anonymous = TestClient(user_client.app)
    page = anonymous.get(path)
    assert page.status_code == 200
    for text in [
        "Hosting review",
        "Hosting costs were reviewed.",
        "Send the hosting quote",
        "Grace",
        "due 2026-12-07",
        "Welcome to the hosting review.",
        "00:02",
        "0:05",
    ]:
        assert text in page.text, text
    assert '<meta name="robots" content="noindex">' in page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self' 'nonce-" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "set-cookie" not in page.headers and "csrf-token" not in page.text
    assert "<audio" not in page.text  # not included
    assert "Rename" not in page.text and "Delete" not in page.text and "Edit" not in page.text
    data = anonymous.get(f"{path}/transcript.json").json()
    assert data["status"] == "completed" and data["duration_ms"] == 5_000
    assert [s["text"] for s in data["segments"]] == [s.text for s in SAID]
    assert set(data["segments"][0]) == {"id", "seq", "text", "start_ms", "end_ms", "speaker"}


def test_audio_only_when_included_with_range(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    anonymous = TestClient(user_client.app)
    without = path_of(share(user_client, meeting.id)["url"])
    with_audio = path_of(share(user_client, meeting.id, include_audio=True)["url"])
    refused = anonymous.get(f"{without}/audio")
    unknown = anonymous.get("/s/no-such-token/audio")
    assert refused.status_code == unknown.status_code == 404
    assert refused.content == unknown.content
    assert "<audio" in anonymous.get(with_audio).text
    whole = anonymous.get(f"{with_audio}/audio")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert len(whole.content) == 44 + 5 * 32_000
    part = anonymous.get(f"{with_audio}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    assert part.headers["referrer-policy"] == "no-referrer"
    opus = anonymous.get(f"{with_audio}/audio?format=opus")
    assert opus.status_code == 200 and opus.headers["content-type"] == "audio/ogg"


def test_unknown_expired_and_revoked_links_answer_the_same_404(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    expired = share(user_client, meeting.id)
    revoked = share(user_client, meeting.id)
    row = db.get(ShareLink, expired["id"])
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    user_client.delete(f"/api/shares/{revoked['id']}", headers=csrf_header(user_client))
    anonymous = TestClient(user_client.app)
    for suffix in ["", "/transcript.json", "/audio"]:
        answers = [
            anonymous.get(path_of(expired["url"]) + suffix),
            anonymous.get(path_of(revoked["url"]) + suffix),
            anonymous.get("/s/" + "x" * 43 + suffix),
        ]
        assert {a.status_code for a in answers} == {404}, suffix
        assert len({a.content for a in answers}) == 1, suffix
        for answer in answers:
            assert answer.headers["x-robots-tag"] == "noindex, nofollow"
            assert answer.headers["referrer-policy"] == "no-referrer"
    page = anonymous.get(path_of(expired["url"]))
    assert "Link not found" in page.text and "Hosting review" not in page.text
    assert '<meta name="robots" content="noindex">' in page.text


@pytest.fixture
def limited_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"share_requests_per_minute": 5}))
    with TestClient(app) as client:
        signup(client, OWNER, "Ada Lovelace", PASSWORD)
        yield client


def test_each_address_is_rate_limited(
    limited_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    path = path_of(share(limited_client, meeting.id)["url"])
    anonymous = TestClient(limited_client.app)
    assert [anonymous.get(path).status_code for _ in range(5)] == [200] * 5
    refused = anonymous.get(path)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many requests" in refused.text
    assert refused.headers["x-robots-tag"] == "noindex, nofollow"
    # unknown tokens count too: guessing is limited the same way
    assert anonymous.get("/s/guess").status_code == 429
    # each route has its own count; the JSON one answers JSON
    assert anonymous.get(f"{path}/transcript.json").status_code == 200
    for _ in range(4):
        anonymous.get(f"{path}/transcript.json")
    limited = anonymous.get(f"{path}/transcript.json")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_requests"


def test_a_live_meeting_shows_segments_as_they_arrive(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings, live=True)
    path = path_of(share(user_client, meeting.id, include_audio=True)["url"])
    anonymous = TestClient(user_client.app)
    page = anonymous.get(path)
    assert 'data-following="true"' in page.text and "Following live" in page.text
    assert "<audio" not in page.text  # the player comes when the recording ends
    first = anonymous.get(f"{path}/transcript.json").json()
    assert first["status"] == "live" and len(first["segments"]) == 2
    recording = store.list_recordings(db, meeting_id=meeting.id)[0]
    store.add_segments(
        db,
        recording_id=recording.id,
        meeting_id=meeting.id,
        segments=[
            store.NewSegment(
                seq=2,
                text="A third thing was said.",
                start_ms=4_500,
                end_ms=6_000,
                confidence=0.9,
                words=[],
                speaker="Ada",
            )
        ],
    )
    db.commit()
    later = anonymous.get(f"{path}/transcript.json").json()
    assert [s["text"] for s in later["segments"]][-1] == "A third thing was said."


def test_links_go_with_their_meeting_and_outlive_their_maker(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = make_meeting(db, settings)
    owner = principal_of(db, OWNER)
    helper = store.create_user(db, email="helper@example.com", password=PASSWORD, name="Helper")
    db.add(Membership(user_id=helper.id, workspace_id=owner.workspace.id, role=Role.MEMBER))
    from mina import sharing

    made = sharing.create_link(db, meeting=meeting, user_id=helper.id)
    db.commit()
    store.delete_account(db, user_id=helper.id)
    db.commit()
    db.expire_all()
    kept = db.get(ShareLink, made.link.id)
    assert kept is not None and kept.created_by is None
    listed = user_client.get(f"/api/meetings/{meeting.id}/shares").json()["items"]
    assert listed[0]["created_by"] is None
    assert user_client.get(f"/s/{made.token}").status_code == 200

    deleted = user_client.delete(f"/api/meetings/{meeting.id}", headers=csrf_header(user_client))
    assert deleted.status_code == 204
    db.expire_all()
    assert db.scalars(select(ShareLink)).all() == []
    assert user_client.get(f"/s/{made.token}").status_code == 404


def test_a_share_token_never_reaches_the_log(
    user_client: TestClient, db: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    meeting = make_meeting(db, settings)
    path = path_of(share(user_client, meeting.id)["url"])
    token = path.split("/")[2]
    anonymous = TestClient(user_client.app)
    with caplog.at_level(logging.INFO, logger="mina.access"):
        assert anonymous.get(path).status_code == 200
        assert anonymous.get(path + "/transcript.json").status_code == 200
        assert anonymous.get("/s/not-a-token").status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "mina.access"]
    assert any("/s/[token]/transcript.json" in line for line in lines), lines
    assert not any(token in line or "not-a-token" in line for line in lines), lines
