"""Notifications through the API, on SQLite and PostgreSQL: a mention tells the member it names
(only members, never the author, and an edit only the newly mentioned), a task assigned to a
member tells them (by a person or from a meeting's action items), the bell's list (newest
first, unread only, pages, the current workspace's only) and marking read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from mina import store
from mina.insights.base import ActionItem, Insights
from mina.insights.job import store_insights
from mina.settings import Settings
from tests.commenthelp import Team, open_team


@pytest.fixture
def team(app: FastAPI, db: Session, settings: Settings) -> Iterator[Team]:
    with open_team(app, db, settings) as made:
        yield made


def bell(team: Team, who: str, **params: Any) -> dict[str, Any]:
    answer = team.call(who, "GET", "/api/notifications", **params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_mention_tells_the_member_it_names(team: Team) -> None:
    made = team.comment("grace", "@Ada Lovelace can you check this?", segment=1)
    seen = bell(team, "ada")
    assert seen["unread"] == 1
    [item] = seen["items"]
    segment = team.segments[1]
    assert item["type"] == "mention"
    assert item["actor"] == {"id": team.ids["grace"], "name": "Grace Hopper"}
    assert item["meeting_title"] == "Weekly sync"
    assert item["text"] == "Grace Hopper mentioned you in Weekly sync"
    assert item["url"] == f"/dashboard/meeting/{team.meeting_id}?t=2000#segment-{segment}"
    assert (item["meeting_id"], item["segment_id"], item["comment_id"], item["task_id"]) == (
        team.meeting_id,
        segment,
        made["id"],
        None,
    )
    assert item["read_at"] is None
    # nobody else heard of it; the author is not told of their own comment
    assert bell(team, "grace")["items"] == [] and bell(team, "alan")["items"] == []


def test_nobody_is_told_of_their_own_action_nor_outsiders(team: Team) -> None:
    team.comment("ada", "Note to self, @Ada Lovelace; and @Mallory, @mallory")
    assert bell(team, "ada") == {"items": [], "unread": 0}
    assert bell(team, "mallory") == {"items": [], "unread": 0}


def test_an_edit_tells_only_the_newly_mentioned(team: Team) -> None:
    made = team.comment("grace", "@ada first")
    path = f"/api/comments/{made['id']}"
    for body in ["@ada and now @alan", "only @alan", "@ada and @alan again"]:
        assert team.call("grace", "PATCH", path, {"body": body}).status_code == 200
    assert bell(team, "ada")["unread"] == 1
    assert bell(team, "alan")["unread"] == 1
    # a deleted comment takes its notifications with it
    assert team.call("grace", "DELETE", path).status_code == 204
    assert bell(team, "ada") == {"items": [], "unread": 0}


def test_marking_read(team: Team) -> None:
    for n in range(4):
        team.comment("grace", f"@Ada number {n}")
    items = bell(team, "ada")["items"]
    assert [i["text"] for i in items] == ["Grace Hopper mentioned you in Weekly sync"] * 4
    ids = [i["id"] for i in items]
    assert ids == sorted(ids, reverse=True)  # newest first
    # someone else's ids change nothing
    assert team.call("alan", "POST", "/api/notifications/read", {"ids": ids}).json() == {
        "unread": 0
    }
    assert bell(team, "ada")["unread"] == 4
    answer = team.call("ada", "POST", "/api/notifications/read", {"ids": ids[:1]})
    assert answer.status_code == 200 and answer.json() == {"unread": 3}
    unread = bell(team, "ada", unread="true")
    assert [i["id"] for i in unread["items"]] == ids[1:] and unread["unread"] == 3
    first_page = bell(team, "ada", limit=2)
    assert [i["id"] for i in first_page["items"]] == ids[:2]
    second_page = bell(team, "ada", limit=2, before=ids[1])
    assert [i["id"] for i in second_page["items"]] == ids[2:]
    assert bell(team, "ada")["items"][0]["read_at"] is not None
    assert team.call("ada", "POST", "/api/notifications/read", {"all": True}).json() == {
        "unread": 0
    }
    team.comment("grace", "@Ada one more")
    assert team.call("ada", "POST", "/api/notifications/read", {}).json() == {"unread": 0}
    for bad in [{"ids": "all"}, {"ids": [0]}, {"everything": True}, {"all": "yes"}]:
        refused = team.call("ada", "POST", "/api/notifications/read", bad)
        assert refused.status_code == 422, bad


def test_the_bell_shows_the_current_workspace_only(team: Team) -> None:
    team.comment("ada", "@Grace please look")
    assert bell(team, "grace")["unread"] == 1
    # Grace in her own workspace (no X-Mina-Workspace header) sees none of Ada's
    own = team.clients["grace"].get("/api/notifications").json()
    assert own == {"items": [], "unread": 0}


def test_assigning_a_task_tells_the_member(team: Team) -> None:
    made = team.call(
        "ada",
        "POST",
        "/api/tasks",
        {"title": "Send the deck", "assignee": "grace hopper", "meeting_id": team.meeting_id},
    )
    assert made.status_code == 201, made.text
    task = made.json()
    [item] = bell(team, "grace")["items"]
    assert item["type"] == "task_assigned" and item["task_id"] == task["id"]
    assert item["text"] == "Ada Lovelace assigned you \u201cSend the deck\u201d"
    assert item["actor"]["name"] == "Ada Lovelace"
    assert item["url"] == f"/dashboard/meeting/{team.meeting_id}"
    path = f"/api/tasks/{task['id']}"
    # a change that is not a new assignee tells nobody; a new one tells them
    team.call("ada", "PATCH", path, {"status": "done"})
    team.call("ada", "PATCH", path, {"assignee": "Grace Hopper"})
    assert bell(team, "grace")["unread"] == 1
    team.call("ada", "PATCH", path, {"assignee": "alan@example.com"})
    assert (
        bell(team, "alan")["items"][0]["text"]
        == "Ada Lovelace assigned you \u201cSend the deck\u201d"
    )
    # yourself, an outsider, nobody: no notification
    team.call("ada", "PATCH", path, {"assignee": "Ada"})
    team.call("ada", "PATCH", path, {"assignee": "Mallory"})
    team.call("ada", "PATCH", path, {"assignee": None})
    assert bell(team, "ada")["unread"] == 0 and bell(team, "mallory")["unread"] == 0
    assert bell(team, "alan")["unread"] == 1 and bell(team, "grace")["unread"] == 1


def test_an_action_item_for_a_member_tells_them(team: Team) -> None:
    meeting = store.get_meeting(team.db, workspace_id=team.workspace_id, meeting_id=team.meeting_id)
    assert meeting is not None
    insights = Insights(
        provider="scripted",
        model="test",
        action_items=(
            ActionItem("Send the numbers", team.segments[1], owner="Grace"),
            ActionItem("Book the room", team.segments[2], owner="Someone Else"),
        ),
    )
    store_insights(team.db, meeting=meeting, insights=insights)
    team.db.commit()
    [item] = bell(team, "grace")["items"]
    assert item["type"] == "task_assigned" and item["actor"] is None
    assert item["text"] == "\u201cSend the numbers\u201d from Weekly sync is yours"
    assert item["url"] == (
        f"/dashboard/meeting/{team.meeting_id}?t=2000#segment-{team.segments[1]}"
    )
    # made again, the same items tell nobody twice
    store_insights(team.db, meeting=meeting, insights=insights)
    team.db.commit()
    assert bell(team, "grace")["unread"] == 1
