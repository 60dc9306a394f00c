"""The insights pipeline over the API with a scripted provider: the job stores what the
provider made with checked citations, action items become tasks once (regenerating never
duplicates, reopens or brings back a task), edits make insights stale, renamed speakers carry
their items, another workspace sees nothing; the meeting page embeds the insights and tasks it
first draws. Both databases. The real providers have their own tests (test_insights_local,
test_insights_openai)."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import store
from mina.insights.job import generate_insights
from mina.jobs.base import JobDeferred
from mina.models import Job, Meeting, Segment, Task, utcnow
from mina.settings import Settings
from tests.insighthelp import BOGUS_ID, use_scripted_provider
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header, wait_job

SAID = [
    Said("Good morning, let's start with the budget.", 0, 2_000, "Ada"),
    Said("Grace will send the hosting quote tomorrow.", 2_000, 5_000, "Grace"),
    Said("We decided to stay on the current plan.", 5_000, 7_000, "Ada"),
    Said("Who owns the migration?", 7_000, 8_000, "Ada"),
    Said("This is great news.", 8_000, 9_000, "Grace"),
]


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return use_scripted_provider(monkeypatch, settings)


def _meeting(db: Session, settings: Settings, title: str = "Budget review") -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow() - timedelta(hours=1),
        said=SAID,
        audio_s=9,
    )


@pytest.fixture
def meeting(user_client: TestClient, db: Session, settings: Settings) -> Meeting:
    return _meeting(db, settings)


def regenerate(client: TestClient, meeting_id: int) -> dict[str, Any]:
    queued = client.post(f"/api/meetings/{meeting_id}/insights", headers=csrf_header(client))
    assert queued.status_code == 202, queued.text
    assert queued.json()["meeting_id"] == meeting_id
    job, _ = wait_job(client, queued.json()["job_id"])
    assert job["status"] == "done", job
    answer = client.get(f"/api/meetings/{meeting_id}/insights")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _segments(db: Session, meeting_id: int) -> list[Segment]:
    db.expire_all()
    return list(store.list_transcript(db, meeting_id=meeting_id))


def test_insights_are_made_stored_and_cite_their_moments(
    user_client: TestClient, meeting: Meeting, db: Session
) -> None:
    before = user_client.get(f"/api/meetings/{meeting.id}/insights").json()
    assert before["status"] == "off" and before["summary"] == [] and before["provider"] is None

    insights = regenerate(user_client, meeting.id)
    segments = _segments(db, meeting.id)
    start = {s.id: s.start_ms for s in segments}
    assert insights["status"] == "done"
    assert insights["provider"] == "scripted" and insights["model"] == "rules v1"
    assert insights["generated_at"] and insights["stale"] is False
    assert [p["text"] for p in insights["summary"]] == [s.text for s in SAID[:3]]
    for item in insights["summary"] + insights["decisions"] + insights["questions"]:
        assert item["start_ms"] == start[item["segment_id"]]
    (action,) = insights["action_items"]
    assert action["text"] == "Grace will send the hosting quote tomorrow"
    assert action["owner"] == "Grace"
    assert (
        action["due_date"]
        == (meeting.actual_start.astimezone() + timedelta(days=1)).date().isoformat()
    )
    assert action["start_ms"] == 2_000 and action["task_status"] == "open"
    assert [d["text"] for d in insights["decisions"]] == [SAID[2].text]
    assert [q["text"] for q in insights["questions"]] == [SAID[3].text]
    assert insights["topics"][0] == {"label": "budget", "weight": 1.0}
    assert insights["sentiment"]["by_speaker"] == {"Ada": 0.0, "Grace": 0.5}

    # the task, the Meeting JSON's analysis state, each segment's sentiment
    tasks = user_client.get("/api/tasks").json()
    assert tasks["total"] == 1
    (task,) = tasks["items"]
    assert task["id"] == action["task_id"] and task["source"] == "insights"
    assert task["assignee"] == "Grace" and task["due_date"] == action["due_date"]
    assert task["meeting_id"] == meeting.id and task["meeting_title"] == "Budget review"
    assert task["segment_id"] == action["segment_id"] and task["start_ms"] == 2_000
    assert user_client.get(f"/api/meetings/{meeting.id}").json()["analysis"]["insights"] == "done"
    transcript = user_client.get(f"/api/meetings/{meeting.id}/transcript").json()["segments"]
    assert [s["sentiment"] for s in transcript] == [0.0, 0.0, 0.0, 0.0, 0.5]


def test_citations_of_nothing_real_are_dropped(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    meeting = _meeting(db, settings, title="Review [bogus]")
    insights = regenerate(user_client, meeting.id)
    ids = {s.id for s in _segments(db, meeting.id)}
    cited = insights["summary"] + insights["action_items"]
    assert cited and all(item["segment_id"] in ids for item in cited)
    assert BOGUS_ID not in {item["segment_id"] for item in cited}
    assert "2 items citing no segment were dropped" in insights["note"]
    assert [t["title"] for t in user_client.get("/api/tasks").json()["items"]] == [
        "Grace will send the hosting quote tomorrow"
    ]


def test_regenerating_never_duplicates_reopens_or_resurrects_tasks(
    user_client: TestClient, meeting: Meeting, db: Session, settings: Settings
) -> None:
    first = regenerate(user_client, meeting.id)
    task_id = first["action_items"][0]["task_id"]
    headers = csrf_header(user_client)
    done = user_client.patch(f"/api/tasks/{task_id}", json={"status": "done"}, headers=headers)
    assert done.status_code == 200 and done.json()["done_at"], done.text
    again = regenerate(user_client, meeting.id)
    assert again["action_items"][0]["task_id"] == task_id
    assert again["action_items"][0]["task_status"] == "done"
    assert user_client.get("/api/tasks").json()["total"] == 1

    # an edited title stays; a deleted task stays deleted
    edited = user_client.patch(
        f"/api/tasks/{task_id}", json={"title": "Send the quote", "status": "open"}, headers=headers
    )
    assert edited.json()["title"] == "Send the quote" and edited.json()["done_at"] is None
    regenerate(user_client, meeting.id)
    assert [t["title"] for t in user_client.get("/api/tasks").json()["items"]] == ["Send the quote"]
    assert user_client.delete(f"/api/tasks/{task_id}", headers=headers).status_code == 204
    after = regenerate(user_client, meeting.id)
    assert after["action_items"][0]["task_id"] is None
    assert user_client.get("/api/tasks").json()["total"] == 0
    assert user_client.get(f"/api/tasks/{task_id}").status_code in (404, 405)
    db.expire_all()
    tombstone = db.get(Task, task_id)
    assert tombstone is not None and tombstone.title == "" and tombstone.deleted_at is not None


def test_edits_make_insights_stale_and_renames_carry_owners(
    user_client: TestClient, meeting: Meeting, db: Session
) -> None:
    regenerate(user_client, meeting.id)
    headers = csrf_header(user_client)
    segment = _segments(db, meeting.id)[0]
    # a speaker label change is not a text edit
    user_client.patch(f"/api/segments/{segment.id}", json={"speaker": "Ada"}, headers=headers)
    assert user_client.get(f"/api/meetings/{meeting.id}/insights").json()["stale"] is False
    edited = user_client.patch(
        f"/api/segments/{segment.id}", json={"text": "Morning all, the budget."}, headers=headers
    )
    assert edited.status_code == 200
    assert user_client.get(f"/api/meetings/{meeting.id}/insights").json()["stale"] is True

    renamed = user_client.post(
        f"/api/meetings/{meeting.id}/speakers",
        json={"from": "Grace", "to": "Grace Hopper"},
        headers=headers,
    )
    assert renamed.status_code == 200
    insights = user_client.get(f"/api/meetings/{meeting.id}/insights").json()
    assert insights["action_items"][0]["owner"] == "Grace Hopper"
    assert "Grace Hopper" in insights["sentiment"]["by_speaker"]
    assert user_client.get("/api/tasks").json()["items"][0]["assignee"] == "Grace Hopper"

    fresh = regenerate(user_client, meeting.id)
    assert fresh["stale"] is False
    assert fresh["summary"][0]["text"] == "Morning all, the budget."


def test_tasks_api_adds_filters_edits_and_validates(
    user_client: TestClient, meeting: Meeting, db: Session
) -> None:
    headers = csrf_header(user_client)
    segment = _segments(db, meeting.id)[3]
    made = user_client.post(
        "/api/tasks",
        json={
            "title": "  Decide who owns the migration ",
            "segment_id": segment.id,
            "assignee": "Ada",
            "due_date": "2027-01-15",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert task["title"] == "Decide who owns the migration"
    assert task["meeting_id"] == meeting.id and task["start_ms"] == 7_000
    assert task["source"] == "manual" and task["status"] == "open"
    loose = user_client.post("/api/tasks", json={"title": "Book the room"}, headers=headers)
    assert loose.status_code == 201 and loose.json()["meeting_id"] is None

    def titles(query: str) -> list[str]:
        answer = user_client.get(f"/api/tasks{query}")
        assert answer.status_code == 200, answer.text
        return [t["title"] for t in answer.json()["items"]]

    # open ones first by due date, undated last
    assert titles("") == ["Decide who owns the migration", "Book the room"]
    assert titles(f"?meeting_id={meeting.id}") == ["Decide who owns the migration"]
    assert titles("?assignee=ada") == ["Decide who owns the migration"]
    assert titles("?q=ROOM") == ["Book the room"]
    assert titles("?q=100%25") == []
    user_client.patch(f"/api/tasks/{loose.json()['id']}", json={"status": "done"}, headers=headers)
    assert titles("?status=done") == ["Book the room"]
    assert titles("?status=open") == ["Decide who owns the migration"]
    cleared = user_client.patch(
        f"/api/tasks/{task['id']}", json={"assignee": None, "due_date": None}, headers=headers
    )
    assert cleared.json()["assignee"] is None and cleared.json()["due_date"] is None
    assert cleared.json()["title"] == "Decide who owns the migration"

    bad = [
        ("POST", "/api/tasks", {"title": "   "}),
        ("POST", "/api/tasks", {}),
        ("POST", "/api/tasks", {"title": "x", "due_date": "next week"}),
        ("POST", "/api/tasks", {"title": "x", "colour": "red"}),
        ("POST", "/api/tasks", {"title": "x" * 501}),
        ("PATCH", f"/api/tasks/{task['id']}", {}),
        ("PATCH", f"/api/tasks/{task['id']}", {"status": "maybe"}),
        ("PATCH", f"/api/tasks/{task['id']}", {"title": None}),
        ("PATCH", f"/api/tasks/{task['id']}", {"status": None}),
    ]
    for method, path, body in bad:
        answer = user_client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 422, (method, body, answer.text)
        assert answer.json()["error"]["code"] == "validation_error"
    for body in ({"title": "x", "meeting_id": 2_000_000_000}, {"title": "x", "segment_id": 99}):
        answer = user_client.post("/api/tasks", json=body, headers=headers)
        assert answer.status_code == 404, answer.text
    assert (
        user_client.patch("/api/tasks/99999", json={"status": "done"}, headers=headers).status_code
        == 404
    )
    assert user_client.get("/api/tasks?status=maybe").status_code == 422


def test_another_workspace_sees_nothing(
    user_client: TestClient, other_client: TestClient, meeting: Meeting, db: Session
) -> None:
    first = regenerate(user_client, meeting.id)
    task_id = first["action_items"][0]["task_id"]
    headers = csrf_header(other_client)
    assert other_client.get(f"/api/meetings/{meeting.id}/insights").status_code == 404
    assert (
        other_client.post(f"/api/meetings/{meeting.id}/insights", headers=headers).status_code
        == 404
    )
    assert other_client.get("/api/tasks").json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "per_page": 50,
    }
    assert (
        other_client.patch(
            f"/api/tasks/{task_id}", json={"status": "done"}, headers=headers
        ).status_code
        == 404
    )
    assert other_client.delete(f"/api/tasks/{task_id}", headers=headers).status_code == 404
    segment = _segments(db, meeting.id)[0]
    planted = other_client.post(
        "/api/tasks", json={"title": "peek", "segment_id": segment.id}, headers=headers
    )
    assert planted.status_code == 404
    planted = other_client.post(
        "/api/tasks", json={"title": "peek", "meeting_id": meeting.id}, headers=headers
    )
    assert planted.status_code == 404
    assert user_client.get("/api/tasks").json()["items"][0]["status"] == "open"


def test_a_meeting_being_recorded_has_no_insights_yet(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    live = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Now",
        started_at=utcnow(),
        said=SAID[:1],
        audio_s=2,
        live=True,
    )
    answer = user_client.post(f"/api/meetings/{live.id}/insights", headers=csrf_header(user_client))
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "meeting_busy"


def test_insights_wait_for_the_speaker_labels(
    meeting: Meeting, db: Session, db_sessions: Any, settings: Settings
) -> None:
    diarize = store.queue_meeting_job(db, meeting=meeting, name="diarize")
    insights = store.queue_meeting_job(db, meeting=meeting, name="insights")
    db.commit()
    import threading

    from mina.jobs.base import JobContext

    context = JobContext(
        sessions=db_sessions,
        load_engine=None,  # type: ignore[arg-type]
        decode_pool=None,  # type: ignore[arg-type]
        settings=settings,
        stream_config=None,  # type: ignore[arg-type]
        stopping=threading.Event(),
    )
    with pytest.raises(JobDeferred):
        generate_insights(context, job_id=insights.id)
    store.fail_job(db, job_id=diarize.id, error="no voices")
    db.commit()
    generate_insights(context, job_id=insights.id)
    db.expire_all()
    assert store.get_insights(db, meeting_id=meeting.id) is not None
    assert db.scalar(select(Job.id).where(Job.id == insights.id)) == insights.id


def test_post_meeting_jobs_follow_the_settings() -> None:
    assert Settings().post_meeting_jobs == ("diarize", "insights", "embed")
    assert Settings(insights="off").post_meeting_jobs == ("diarize", "embed")
    assert Settings(diarization=False).post_meeting_jobs == ("insights", "embed")
    assert Settings(semantic_search=False).post_meeting_jobs == ("diarize", "insights")
    assert Settings().insight_provider == "local"
    assert Settings(llm_url="http://127.0.0.1:11434/v1").insight_provider == "openai"
    assert Settings(insights="Local").insight_provider == "local"


def test_the_cli_makes_insights_for_an_archive(
    cli_env: dict[str, str], db: Session, settings: Settings, user_client: TestClient
) -> None:
    from click.testing import CliRunner

    from mina.cli import main

    first, second = _meeting(db, settings, "One"), _meeting(db, settings, "Two")
    env = {**cli_env, "MINA_INSIGHTS": "scripted"}
    made = CliRunner().invoke(main, ["insights", str(first.id)], env=env)
    assert made.exit_code == 0, made.output
    assert "insights made for 1 meetings" in made.output
    db.expire_all()
    assert store.get_insights(db, meeting_id=first.id) is not None
    assert store.get_insights(db, meeting_id=second.id) is None
    rest = CliRunner().invoke(main, ["insights", "--all", "--missing"], env=env)
    assert rest.exit_code == 0 and "insights made for 1 meetings" in rest.output, rest.output
    db.expire_all()
    assert store.get_insights(db, meeting_id=second.id) is not None
    # the tasks were made once, however often it runs
    again = CliRunner().invoke(main, ["insights", "--all"], env=env)
    assert again.exit_code == 0, again.output
    assert user_client.get("/api/tasks").json()["total"] == 2
    for wrong in (["insights"], ["insights", "--all", "3"], ["insights", "2000000000"]):
        refused = CliRunner().invoke(main, wrong, env=env)
        assert refused.exit_code != 0, wrong


def test_the_meeting_page_carries_the_insights_and_tasks_it_first_draws(
    user_client: TestClient, meeting: Meeting, db: Session
) -> None:
    """The meeting page embeds what GET .../insights and GET /api/tasks?meeting_id= answer, so
    its Overview draws at once; a task completed since shows done on the next load."""

    def embedded() -> dict[str, Any]:
        page = user_client.get(f"/dashboard/meeting/{meeting.id}")
        assert page.status_code == 200, page.text
        found = re.search(
            r'<script type="application/json" id="overview-data">(.*?)</script>', page.text, re.S
        )
        assert found, "no overview data on the page"
        assert "</" not in found.group(1), "the JSON cannot close its script element"
        return dict(json.loads(html.unescape(found.group(1))))

    before = embedded()
    assert before["insights"]["status"] == "off" and before["tasks"] == []
    regenerate(user_client, meeting.id)
    headers = csrf_header(user_client)
    segment = _segments(db, meeting.id)[0]
    added = user_client.post(
        "/api/tasks",
        json={"title": "Book </script> a room", "meeting_id": meeting.id, "segment_id": segment.id},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    (action,) = user_client.get(f"/api/meetings/{meeting.id}/insights").json()["action_items"]
    done = user_client.patch(
        f"/api/tasks/{action['task_id']}", json={"status": "done"}, headers=headers
    )
    assert done.status_code == 200

    data = embedded()
    assert data["insights"] == user_client.get(f"/api/meetings/{meeting.id}/insights").json()
    assert data["insights"]["action_items"][0]["task_status"] == "done"
    listed = user_client.get("/api/tasks", params={"meeting_id": meeting.id}).json()["items"]
    assert data["tasks"] == listed
    assert {t["title"] for t in data["tasks"]} == {
        "Book </script> a room",
        "Grace will send the hosting quote tomorrow",
    }


def test_a_live_meeting_page_has_no_overview(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    live = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Now",
        started_at=utcnow(),
        said=SAID[:1],
        audio_s=2,
        live=True,
    )
    page = user_client.get(f"/dashboard/meeting/{live.id}")
    assert page.status_code == 200 and 'id="overview"' not in page.text


def test_a_live_recording_gets_insights_when_it_stops(user_client: TestClient, db: Session) -> None:
    from tests.livehelp import send_pcm, sentences_pcm, start, stop

    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws, title="Weekly sync")["meeting_id"]
        send_pcm(ws, sentences_pcm([1, 2, 3], [4, 5]))
        stop(ws)
    deadline = time.monotonic() + 60
    while (state := user_client.get(f"/api/meetings/{meeting_id}").json()["analysis"])[
        "insights"
    ] not in ("done", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["insights"] == "done"
    db.expire_all()
    names = db.scalars(select(Job.name).where(Job.meeting_id == meeting_id).order_by(Job.id))
    assert [n for n in names if n in ("diarize", "insights")] == ["diarize", "insights"]
    insights = user_client.get(f"/api/meetings/{meeting_id}/insights").json()
    assert insights["provider"] == "scripted" and insights["summary"]
