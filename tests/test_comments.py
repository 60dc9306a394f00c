"""Comments on segments through the API, on SQLite and PostgreSQL: a thread's life (comment,
list, edit, delete), who may do what (viewers comment, authors edit, owners and admins delete),
another workspace's ids answering like missing ones, bodies checked, mentions resolved only to
members, the body kept as written, the comment.created webhook, and what account deletion and
the data export do with comments."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import store
from mina.comments.mentions import find_mentions, member_named
from mina.models import Comment, Role, WebhookDelivery, utcnow
from mina.settings import Settings
from tests.commenthelp import Team, open_team

MISSING_ID = 2_000_000_000


@pytest.fixture
def team(app: FastAPI, db: Session, settings: Settings) -> Iterator[Team]:
    with open_team(app, db, settings) as made:
        yield made


def test_a_thread_comment_list_edit_delete(team: Team) -> None:
    segment = team.segments[1]
    first = team.comment("ada", "  Is this **really** tomorrow?  ")
    assert first["body"] == "Is this **really** tomorrow?"  # trimmed, else as written
    assert first["author"] == {"id": team.ids["ada"], "name": "Ada Lovelace"}
    assert first["segment_id"] == team.segments[0] and first["meeting_id"] == team.meeting_id
    assert first["mentions"] == [] and first["edited_at"] is None
    second = team.comment("grace", "Yes, by noon.", segment=1)  # a viewer may comment
    third = team.comment("alan", "Noted.", segment=1)

    listed = team.call("grace", "GET", f"/api/segments/{segment}/comments")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["items"]] == [second["id"], third["id"]]  # oldest first

    edited = team.call("grace", "PATCH", f"/api/comments/{second['id']}", {"body": "Yes, by 11."})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "Yes, by 11." and edited.json()["edited_at"] is not None

    everything = team.call("alan", "GET", f"/api/meetings/{team.meeting_id}/comments").json()
    assert [c["id"] for c in everything["items"]] == [first["id"], second["id"], third["id"]]
    assert everything["counts"] == {str(team.segments[0]): 1, str(segment): 2}

    gone = team.call("alan", "DELETE", f"/api/comments/{third['id']}")
    assert gone.status_code == 204
    again = team.call("alan", "DELETE", f"/api/comments/{third['id']}")
    assert again.status_code == 404
    assert len(team.call("ada", "GET", f"/api/segments/{segment}/comments").json()["items"]) == 1


def test_only_the_author_edits_and_owners_and_admins_delete(team: Team) -> None:
    ada = team.comment("ada", "The owner's remark")
    grace = team.comment("grace", "The viewer's remark")
    for who, comment in [("grace", ada), ("ada", grace), ("alan", grace)]:
        answer = team.call(who, "PATCH", f"/api/comments/{comment['id']}", {"body": "Mine now"})
        assert answer.status_code == 403, (who, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
    # a member or viewer deletes only their own
    for who, comment in [("grace", ada), ("alan", grace)]:
        answer = team.call(who, "DELETE", f"/api/comments/{comment['id']}")
        assert answer.status_code == 403, (who, answer.text)
    # the owner deletes anyone's; so does an admin
    assert team.call("ada", "DELETE", f"/api/comments/{grace['id']}").status_code == 204
    store.change_role(
        team.db,
        workspace_id=team.workspace_id,
        actor_role=Role.OWNER,
        user_id=team.ids["alan"],
        role=Role.ADMIN,
    )
    team.db.commit()
    assert team.call("alan", "DELETE", f"/api/comments/{ada['id']}").status_code == 204
    assert team.call("ada", "GET", f"/api/meetings/{team.meeting_id}/comments").json() == {
        "items": [],
        "counts": {},
    }


def test_another_workspace_answers_like_a_missing_id(team: Team) -> None:
    comment = team.comment("ada", "Private to the team")
    segment = team.segments[0]
    calls = [
        ("GET", "/api/segments/{}/comments", segment, None),
        ("POST", "/api/segments/{}/comments", segment, {"body": "Sneaky"}),
        ("PATCH", "/api/comments/{}", comment["id"], {"body": "Sneaky"}),
        ("DELETE", "/api/comments/{}", comment["id"], None),
        ("GET", "/api/meetings/{}/comments", team.meeting_id, None),
    ]
    for method, path, real, body in calls:
        theirs = team.call("mallory", method, path.format(real), body)
        missing = team.call("mallory", method, path.format(MISSING_ID), body)
        assert theirs.status_code == missing.status_code == 404, (method, path, theirs.text)
        assert theirs.json() == missing.json()
        assert theirs.json()["error"]["code"] == "not_found"
        assert team.call("ada", method, path.format(MISSING_ID), body).status_code == 404
    assert len(team.call("ada", "GET", f"/api/segments/{segment}/comments").json()["items"]) == 1


@pytest.mark.parametrize(
    "body",
    [{"body": ""}, {"body": "   \n\t "}, {"body": "x" * 4001}, {}, {"body": None}, {"text": "hi"}],
)
def test_bad_bodies_are_refused(team: Team, body: dict[str, object]) -> None:
    answer = team.call("grace", "POST", f"/api/segments/{team.segments[0]}/comments", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"
    made = team.comment("grace", "fine")
    edit = team.call("grace", "PATCH", f"/api/comments/{made['id']}", body)
    assert edit.status_code == 422


def test_a_body_of_4000_characters_after_trimming_is_fine(team: Team) -> None:
    made = team.comment("grace", "  " + "y" * 4000 + "\n")
    assert len(made["body"]) == 4000


def test_mentions_name_members_only(team: Team) -> None:
    made = team.comment(
        "grace",
        "@Ada Lovelace and @alan, not @Mallory nor mallory@example.com; @nobody. Again @ada!",
    )
    assert made["mentions"] == [team.ids["ada"], team.ids["alan"]]


def test_the_body_comes_back_as_written(team: Team) -> None:
    body = '<img src=x onerror=alert(1)> <script>alert("x")</script> & **b** [l](javascript:x)'
    made = team.comment("grace", body)
    listed = team.call("ada", "GET", f"/api/segments/{team.segments[0]}/comments").json()
    assert made["body"] == listed["items"][0]["body"] == body


def test_a_comment_queues_its_webhook(team: Team) -> None:
    hook = team.call(
        "ada",
        "POST",
        "/api/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["comment.created"]},
    )
    assert hook.status_code == 201, hook.text
    made = team.comment("grace", "Ping @Ada Lovelace", segment=2)
    team.call("grace", "PATCH", f"/api/comments/{made['id']}", {"body": "Edited: no event"})
    team.db.expire_all()
    deliveries = team.db.scalars(select(WebhookDelivery)).all()
    assert [d.event for d in deliveries] == ["comment.created"]
    payload = deliveries[0].payload
    assert payload["comment"]["id"] == made["id"]
    assert payload["comment"]["body"] == "Ping @Ada Lovelace"
    assert payload["comment"]["author"] == {"id": team.ids["grace"], "name": "Grace Hopper"}
    assert payload["comment"]["mentions"] == [team.ids["ada"]]
    assert payload["comment"]["segment_id"] == team.segments[2]
    assert payload["meeting"]["id"] == team.meeting_id
    assert payload["meeting"]["title"] == "Weekly sync"


def test_comments_outlive_their_author_and_go_with_their_meeting(team: Team) -> None:
    team.comment("grace", "Before I leave")
    team.comment("ada", "Staying")
    store.delete_account(team.db, user_id=team.ids["grace"])
    team.db.commit()
    items = team.call("ada", "GET", f"/api/meetings/{team.meeting_id}/comments").json()["items"]
    assert [(c["author"], c["body"]) for c in items] == [
        (None, "Before I leave"),
        ({"id": team.ids["ada"], "name": "Ada Lovelace"}, "Staying"),
    ]
    assert team.call("ada", "DELETE", f"/api/meetings/{team.meeting_id}").status_code == 204
    team.db.expire_all()
    assert team.db.scalars(select(Comment)).all() == []


def test_the_data_export_holds_my_comments(team: Team) -> None:
    team.comment("grace", "Mine **to keep**")
    team.comment("ada", "Not Grace's")
    started = team.call("grace", "POST", "/api/me/export")
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    deadline = time.monotonic() + 60
    while team.call("grace", "GET", f"/api/jobs/{job_id}").json()["status"] != "done":
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.05)
    archive = team.call("grace", "GET", f"/api/me/export/{started.json()['job_id']}")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        account = json.loads(zipped.read("account.json"))
    assert [c["body"] for c in account["comments"]] == ["Mine **to keep**"]
    assert account["comments"][0]["meeting_id"] == team.meeting_id


def test_matching_names() -> None:
    members = [
        store.Member(1, "Ada", "ada.l@example.com", Role.OWNER, utcnow()),
        store.Member(2, "Ada Lovelace", "lovelace@example.com", Role.MEMBER, utcnow()),
        store.Member(3, "Grace Hopper", "grace@example.com", Role.VIEWER, utcnow()),
    ]
    assert find_mentions("@Ada Lovelace, see this", members) == [2]
    assert find_mentions("@ada see this", members) == [1]
    assert find_mentions("@Ada  Lovelace", members) == [2]  # spaces are spaces
    assert find_mentions("@Adam and @Hopper", members) == []  # "Adam" is not "Ada"; no surname
    assert find_mentions("@grace: and @ADA.L and @lovelace", members) == [3, 1, 2]
    assert find_mentions("mail grace@example.com or @@grace", members) == []
    assert member_named(members, " grace  HOPPER ") == 3
    assert member_named(members, "grace@example.com") == 3
    assert member_named(members, "Ada") == 1
    assert member_named(members, "Someone else") is None
    assert member_named(members, None) is None
