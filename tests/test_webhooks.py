"""Webhooks end to end against a real HTTP receiver on 127.0.0.1 (a ``http.server`` thread):
a live recording delivers signed ``meeting.started`` and ``meeting.completed``; insights and
tasks deliver theirs; failures are retried with the same delivery id until a 2xx or the end of
the window; deliveries queued while no server runs go out when one starts; private targets are
refused when ``MINA_WEBHOOK_ALLOW_PRIVATE`` is off; the API validates, hides the secret after
creation, keeps workspaces apart and is for owners and admins. Both databases."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mina import __version__, store
from mina.engines import load_engine
from mina.live.config import StreamConfig
from mina.live.recovery import recover_stale
from mina.models import Membership, Role, Webhook, WebhookDelivery, utcnow
from mina.settings import Settings
from mina.web.app import create_app
from mina.webhooks.sender import RetryPolicy
from tests.conftest import signup
from tests.insighthelp import use_scripted_provider
from tests.livehelp import send_pcm, sentences_pcm, start, stop
from tests.meetingdata import Said, add_meeting, principal_of, speech_pcm
from tests.uploadhelp import csrf_header, wait_job, write_wav

# fast retries: 0.2 s, 0.4 s, 0.4 s, ... for 30 s
FAST = RetryPolicy(base_s=0.2, cap_s=0.4, window_s=30.0, poll_s=0.05)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """A webhook receiver: records every request, answers the next scripted status (200 once
    the script is used up, or ``always`` when set)."""

    url: str
    received: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    always: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            if self.always is not None:
                return self.always
            return self.script.pop(0) if self.script else 200

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} of {count} deliveries arrived")

    def events(self) -> list[str]:
        with self.lock:
            return [r.headers["x-mina-event"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            target = box[0]
            status = target.answer()
            with target.lock:
                target.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
            reply = b"thanks" if status < 300 else b"receiver is down"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/mina"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return use_scripted_provider(monkeypatch, settings).model_copy(update={"diarization": False})


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.webhooks.policy = FAST
    return app


def add_webhook(client: TestClient, url: str, *events: str) -> dict[str, Any]:
    made = client.post(
        "/api/webhooks", json={"url": url, "events": list(events)}, headers=csrf_header(client)
    )
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def deliveries(client: TestClient, webhook_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/webhooks/{webhook_id}/deliveries")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def wait_log(
    client: TestClient, webhook_id: int, status: str, timeout_s: float = 20.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = deliveries(client, webhook_id)
        if log and log[0]["status"] == status:
            return log[0]
        time.sleep(0.05)
    raise AssertionError(f"no {status} delivery: {deliveries(client, webhook_id)}")


def _readme_verify() -> Callable[[str, bytes, str], bool]:
    """The verification snippet of the README's Webhooks section, run as a user would."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    snippet = next(b for b in section.split("```python\n")[1:] if "def verify" in b)
    namespace: dict[str, Any] = {}
    exec(snippet.split("```", 1)[0], namespace)  # noqa: S102 (our own README)
    verify: Callable[[str, bytes, str], bool] = namespace["verify"]
    return verify


verify = _readme_verify()


def test_a_live_recording_delivers_signed_started_and_completed(
    user_client: TestClient, receiver: Receiver
) -> None:
    hook = add_webhook(user_client, receiver.url, "meeting.started", "meeting.completed")
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws, title="Weekly sync")["meeting_id"]
        send_pcm(ws, sentences_pcm([1, 2, 3], [4, 5]))
        stop(ws)
    started, completed = receiver.wait_for(2)
    assert receiver.events() == ["meeting.started", "meeting.completed"]
    for got in (started, completed):
        assert verify(hook["secret"], got.body, got.headers["x-mina-signature"])
        assert not verify("whsec_wrong", got.body, got.headers["x-mina-signature"])
        assert got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"] == f"Mina-Webhooks/{__version__}"
        assert len(got.headers["x-mina-delivery"]) == 36
    payload = completed.json
    assert set(payload) == {"event", "delivered_at", "workspace_id", "meeting"}
    assert payload["event"] == "meeting.completed"
    meeting = payload["meeting"]
    assert meeting["id"] == meeting_id and meeting["title"] == "Weekly sync"
    assert meeting["status"] == "completed" and meeting["duration_ms"] >= 0
    assert meeting["url"] == f"/dashboard/meeting/{meeting_id}"
    me = user_client.get("/api/me").json()
    assert payload["workspace_id"] == me["workspace"]["id"]
    assert started.json["meeting"]["status"] == "live"
    log = wait_log(user_client, hook["id"], "delivered")
    assert log["event"] == "meeting.completed" and log["attempts"] == 1
    assert log["last_status_code"] == 200 and log["last_response"] == "thanks"
    assert log["delivery_id"] == completed.headers["x-mina-delivery"]


def test_an_uploaded_meeting_delivers_meeting_completed(
    user_client: TestClient, receiver: Receiver, tmp_path: Path
) -> None:
    hook = add_webhook(user_client, receiver.url, "meeting.started", "meeting.completed")
    wav = write_wav(tmp_path / "call.wav", speech_pcm(1.0))
    with wav.open("rb") as handle:
        uploaded = user_client.post(
            "/api/transcriptions",
            files={"file": (wav.name, handle, "audio/wav")},
            data={"title": "Uploaded call"},
            headers=csrf_header(user_client),
        )
    assert uploaded.status_code == 202, uploaded.text
    assert wait_job(user_client, uploaded.json()["job_id"])[0]["status"] == "done"
    got = receiver.wait_for(1)[0]
    assert receiver.events() == ["meeting.completed"]  # an upload starts no live meeting
    assert got.json["meeting"]["id"] == uploaded.json()["meeting_id"]
    assert got.json["meeting"]["title"] == "Uploaded call"
    assert verify(hook["secret"], got.body, got.headers["x-mina-signature"])


def test_insights_and_tasks_deliver_their_events(
    user_client: TestClient, receiver: Receiver, db: Session, settings: Settings
) -> None:
    hook = add_webhook(
        user_client, receiver.url, "insights.ready", "task.created", "task.completed"
    )
    meeting = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Budget review",
        started_at=utcnow() - timedelta(hours=1),
        said=[
            Said("Let's start with the budget.", 0, 2_000, "Ada"),
            Said("Grace will send the hosting quote tomorrow.", 2_000, 5_000, "Grace"),
        ],
        audio_s=5,
    )
    queued = user_client.post(
        f"/api/meetings/{meeting.id}/insights", headers=csrf_header(user_client)
    )
    assert wait_job(user_client, queued.json()["job_id"])[0]["status"] == "done"
    created, ready = receiver.wait_for(2)
    assert [created.json["event"], ready.json["event"]] == ["task.created", "insights.ready"]
    task = created.json["task"]
    assert task["title"] == "Grace will send the hosting quote tomorrow"
    assert task["source"] == "insights" and task["meeting_id"] == meeting.id
    insights = ready.json["meeting"]["insights"]
    assert ready.json["meeting"]["id"] == meeting.id and insights["provider"] == "scripted"
    assert insights["action_items"][0]["task_id"] == task["id"]

    done = user_client.patch(
        f"/api/tasks/{task['id']}", json={"status": "done"}, headers=csrf_header(user_client)
    )
    assert done.status_code == 200
    added = user_client.post(
        "/api/tasks", json={"title": "Book the room"}, headers=csrf_header(user_client)
    )
    assert added.status_code == 201
    got = receiver.wait_for(4)
    assert [g.json["event"] for g in got[2:]] == ["task.completed", "task.created"]
    assert got[2].json["task"]["status"] == "done" and got[2].json["task"]["done_at"]
    assert got[3].json["task"]["title"] == "Book the room"
    for g in got:
        assert verify(hook["secret"], g.body, g.headers["x-mina-signature"])
    # completing it again, or editing it, is no new event
    user_client.patch(
        f"/api/tasks/{task['id']}", json={"title": "Quote"}, headers=csrf_header(user_client)
    )
    time.sleep(0.5)
    assert len(receiver.received) == 4


def test_a_failing_receiver_is_retried_with_the_same_delivery_id(
    user_client: TestClient, receiver: Receiver
) -> None:
    receiver.script = [500, 500]
    hook = add_webhook(user_client, receiver.url, "task.created")
    user_client.post("/api/tasks", json={"title": "Retry me"}, headers=csrf_header(user_client))
    got = receiver.wait_for(3)
    assert len({g.headers["x-mina-delivery"] for g in got}) == 1
    for g in got:
        assert verify(hook["secret"], g.body, g.headers["x-mina-signature"])
    log = wait_log(user_client, hook["id"], "delivered")
    assert log["attempts"] == 3 and log["last_status_code"] == 200
    assert log["delivered_at"] and log["next_attempt_at"] is None
    time.sleep(0.5)
    assert len(receiver.received) == 3


def test_a_receiver_that_never_succeeds_fails_after_the_window(
    app: FastAPI, user_client: TestClient, receiver: Receiver
) -> None:
    app.state.webhooks.policy = RetryPolicy(base_s=0.1, cap_s=0.2, window_s=1.0, poll_s=0.05)
    receiver.always = 503
    hook = add_webhook(user_client, receiver.url, "task.created")
    user_client.post("/api/tasks", json={"title": "Never"}, headers=csrf_header(user_client))
    queued = receiver.wait_for(1)
    assert queued
    log = wait_log(user_client, hook["id"], "failed", timeout_s=10)
    assert log["attempts"] >= 3 and log["last_status_code"] == 503
    assert "given up" in log["last_error"] and log["last_response"] == "receiver is down"
    count = len(receiver.received)
    assert count == log["attempts"]
    time.sleep(0.5)
    assert len(receiver.received) == count


def test_deliveries_queued_without_a_server_go_out_when_it_starts(
    app: FastAPI, db: Session, receiver: Receiver
) -> None:
    user = store.create_user(db, email="ada@example.com", password="correct horse battery")
    principal = store.get_principal(db, user=user)
    webhook = store.create_webhook(
        db,
        workspace_id=principal.workspace.id,
        user_id=user.id,
        url=receiver.url,
        events=["task.created"],
    )
    store.create_task(db, workspace_id=principal.workspace.id, user_id=user.id, title="Queued")
    db.commit()
    time.sleep(0.3)
    assert receiver.received == []  # no server, no sender
    with TestClient(app):
        got = receiver.wait_for(1)
    assert got[0].json["task"]["title"] == "Queued"
    assert verify(webhook.secret, got[0].body, got[0].headers["x-mina-signature"])


def test_private_targets_are_refused_when_the_setting_is_off(
    settings: Settings, db: Session, receiver: Receiver
) -> None:
    app = create_app(settings.model_copy(update={"webhook_allow_private": False}))
    app.state.webhooks.policy = FAST
    with TestClient(app) as client:
        signup(client, "ada@example.com")
        for url in (receiver.url, "http://localhost:8080/hook", "http://[::1]/hook"):
            refused = client.post(
                "/api/webhooks",
                json={"url": url, "events": ["task.created"]},
                headers=csrf_header(client),
            )
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["code"] == "invalid_url"
            assert "private address" in error["message"]
            assert "MINA_WEBHOOK_ALLOW_PRIVATE" in error["message"]
        # a webhook saved while private targets were allowed is refused at delivery time
        principal = principal_of(db, "ada@example.com")
        webhook = store.create_webhook(
            db,
            workspace_id=principal.workspace.id,
            user_id=principal.user.id,
            url=receiver.url,
            events=["task.created"],
        )
        db.commit()
        client.post("/api/tasks", json={"title": "Leak"}, headers=csrf_header(client))
        log = wait_log(client, webhook.id, "failed")
        assert "private address (127.0.0.1)" in log["last_error"] and log["attempts"] == 1
    assert receiver.received == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook", "events": ["task.created"]},
        {"url": "http://", "events": ["task.created"]},
        {"url": "not a url", "events": ["task.created"]},
        {"url": "https://example.com:99999/", "events": ["task.created"]},
        {"url": "https://example.com/hook", "events": ["meeting.exploded"]},
        {"url": "https://example.com/hook", "events": []},
        {"url": "https://example.com/hook"},
        {"url": "https://example.com/hook", "events": ["task.created"], "secret": "mine"},
    ],
)
def test_invalid_webhooks_are_refused(user_client: TestClient, body: dict[str, Any]) -> None:
    answer = user_client.post("/api/webhooks", json=body, headers=csrf_header(user_client))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("invalid_url", "validation_error")
    assert user_client.get("/api/webhooks").json()["items"] == []


def test_the_secret_is_shown_once_and_webhooks_stay_in_their_workspace(
    user_client: TestClient, other_client: TestClient, db: Session
) -> None:
    hook = add_webhook(user_client, "https://example.com/hook", "comment.created")
    assert set(hook) == {"id", "url", "events", "secret", "active", "created_at"}
    listed = user_client.get("/api/webhooks").json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0] and hook["secret"] not in json.dumps(listed)
    changed = user_client.patch(
        f"/api/webhooks/{hook['id']}",
        json={"active": False, "events": ["task.completed", "meeting.started"]},
        headers=csrf_header(user_client),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["active"] is False and "secret" not in changed.json()
    assert changed.json()["events"] == ["meeting.started", "task.completed"]
    bad = user_client.patch(
        f"/api/webhooks/{hook['id']}", json={"active": None}, headers=csrf_header(user_client)
    )
    assert bad.status_code == 422

    # another workspace: the same 404 as a webhook that does not exist
    assert other_client.get("/api/webhooks").json()["items"] == []
    for method, path, body in [
        ("PATCH", f"/api/webhooks/{hook['id']}", {"active": True}),
        ("DELETE", f"/api/webhooks/{hook['id']}", None),
        ("GET", f"/api/webhooks/{hook['id']}/deliveries", None),
    ]:
        theirs = other_client.request(method, path, json=body, headers=csrf_header(other_client))
        missing = other_client.request(
            method,
            path.replace(str(hook["id"]), "2000000000"),
            json=body,
            headers=csrf_header(other_client),
        )
        assert theirs.status_code == missing.status_code == 404, theirs.text
        assert theirs.json() == missing.json()
    assert user_client.get("/api/webhooks").json()["items"][0]["active"] is False

    # a member who is not an owner or admin is refused
    principal = principal_of(db, "ada@example.com")
    db.execute(
        update(Membership).where(Membership.user_id == principal.user.id).values(role=Role.MEMBER)
    )
    db.commit()
    for method, path in [
        ("GET", "/api/webhooks"),
        ("GET", f"/api/webhooks/{hook['id']}/deliveries"),
        ("DELETE", f"/api/webhooks/{hook['id']}"),
    ]:
        refused = user_client.request(method, path, headers=csrf_header(user_client))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
    db.execute(
        update(Membership).where(Membership.user_id == principal.user.id).values(role=Role.OWNER)
    )
    db.commit()
    deleted = user_client.delete(f"/api/webhooks/{hook['id']}", headers=csrf_header(user_client))
    assert deleted.status_code == 204
    assert user_client.get("/api/webhooks").json()["items"] == []
    assert db.scalars(select(Membership.id)).all()


def test_recording_an_event_without_webhooks_queues_nothing(
    user_client: TestClient, db: Session
) -> None:
    principal = principal_of(db, "ada@example.com")
    assert (
        store.record_event(
            db, workspace_id=principal.workspace.id, event="comment.created", payload={}
        )
        == 0
    )
    with pytest.raises(ValueError):
        store.record_event(db, workspace_id=principal.workspace.id, event="nope", payload={})


def test_deleting_the_account_deletes_its_webhooks_and_their_log(
    user_client: TestClient, db: Session
) -> None:
    hook = add_webhook(user_client, "http://127.0.0.1:9/gone", "task.created")
    user_client.post("/api/tasks", json={"title": "Logged"}, headers=csrf_header(user_client))
    assert len(deliveries(user_client, hook["id"])) == 1
    gone = user_client.request(
        "DELETE",
        "/api/me",
        json={"password": "correct horse battery"},
        headers=csrf_header(user_client),
    )
    assert gone.status_code == 204, gone.text
    db.expire_all()
    assert db.scalars(select(Webhook.id)).all() == []
    assert db.scalars(select(WebhookDelivery.id)).all() == []


def test_a_recovered_meeting_is_delivered_by_the_next_server(
    settings: Settings, db: Session, db_sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """The server dies mid-recording: recovery completes the meeting, queuing its
    meeting.completed, which the server that starts next delivers."""
    first = create_app(settings)
    first.state.webhooks.policy = FAST
    with TestClient(first) as client:
        signup(client, "ada@example.com")
        hook = add_webhook(client, receiver.url, "meeting.completed")
        with client.websocket_connect("/ws/transcribe") as ws:
            started = start(ws, title="Cut short")
            send_pcm(ws, sentences_pcm([1, 2, 3]))
            time.sleep(1.2)
    recording = store.get_recording(db, external_id=started["session_id"])
    assert recording is not None
    recording.last_heartbeat = recording.last_heartbeat.replace(year=2000)
    db.commit()
    done = recover_stale(
        db_sessions,
        load_engine("fake"),
        stale_after_s=settings.stale_after_s,
        config=StreamConfig(vad="energy"),
    )
    assert [d.meeting_id for d in done] == [started["meeting_id"]]
    time.sleep(0.3)
    assert receiver.received == []  # no server is running
    second = create_app(settings)
    second.state.webhooks.policy = FAST
    with TestClient(second):
        got = receiver.wait_for(1)[0]
    assert got.json["meeting"]["id"] == started["meeting_id"]
    assert got.json["meeting"]["status"] == "completed"
    assert verify(hook["secret"], got.body, got.headers["x-mina-signature"])
