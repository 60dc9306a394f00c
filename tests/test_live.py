"""Streaming protocol v1 over the real app and database, with the fake engine."""

from __future__ import annotations

import errno
import functools
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from mina import store
from mina.audiostore import AudioWriter, audio_size
from mina.engines import load_engine
from mina.live.config import StreamConfig
from mina.live.recovery import recover_stale
from mina.models import Meeting, MeetingStatus, RecordingSession, SessionStatus
from mina.settings import Settings
from mina.web import ws as ws_module
from mina.web.app import create_app
from mina.web.rendering import format_duration
from tests.conftest import csrf_from, signup
from tests.livehelp import (
    final_words,
    receive_until,
    send_pcm,
    sentences_pcm,
    start,
    stop,
    words_of,
)

SENTENCES = ([1, 2, 3, 4], [5, 6, 7], [8, 9, 10])


def test_record_stop_and_find_the_meeting(user_client: TestClient, db: Session) -> None:
    pcm = sentences_pcm(*SENTENCES)
    with user_client.websocket_connect("/ws/transcribe") as ws:
        started = start(ws, title="Weekly sync")
        meeting_id = started["meeting_id"]
        # visible in the dashboard, live, from the first instant
        live = user_client.get("/api/meetings").json()["items"][0]
        assert live["id"] == meeting_id and live["status"] == "live"
        assert "Weekly sync" in user_client.get("/dashboard").text
        send_pcm(ws, pcm)
        stopped, messages = stop(ws)
    assert stopped["meeting_id"] == meeting_id
    assert stopped["duration_ms"] == pytest.approx(len(pcm) / 32, abs=1)
    assert final_words(messages) == words_of(*SENTENCES)
    assert stopped["segments"] == 3 and stopped["words"] == 10
    assert any(m["type"] == "interim" for m in messages)
    assert any(m["type"] == "ack" for m in messages) or stopped  # acks come once a second

    meeting = user_client.get(f"/api/meetings/{meeting_id}").json()
    assert meeting["status"] == "completed"
    assert meeting["segment_count"] == 3 and meeting["word_count"] == 10
    assert meeting["average_confidence"] == pytest.approx(0.9)
    transcript = user_client.get(f"/api/meetings/{meeting_id}/transcript").json()["segments"]
    assert [s["seq"] for s in transcript] == [0, 1, 2]
    assert transcript[0]["words"][0] == {
        "text": "Word0001",
        "start_ms": transcript[0]["start_ms"],
        "end_ms": 800,
        "probability": 0.9,
    }
    assert all(s["start_ms"] < s["end_ms"] <= stopped["duration_ms"] for s in transcript)
    # lists show the recorded duration (the audio), not the seconds the upload took
    listed = format_duration(stopped["duration_ms"])
    assert listed != "0:00" and f"· {listed}" in user_client.get("/dashboard/meetings").text
    page = user_client.get(f"/dashboard/meeting/{meeting_id}")
    assert "word0005 word0006 word0007" in page.text.lower() and "0:00" in page.text

    recording = db.scalar(select(RecordingSession))
    assert recording is not None and recording.status is SessionStatus.COMPLETED
    assert recording.total_words == 10 and audio_size(Path(recording.audio_path)) == len(pcm)


def test_audio_is_served_whole_and_by_range(user_client: TestClient) -> None:
    pcm = sentences_pcm([1, 2])
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        send_pcm(ws, pcm)
        stop(ws)
    whole = user_client.get(f"/api/meetings/{meeting_id}/audio")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.content[:4] == b"RIFF" and whole.content[44:] == pcm
    part = user_client.get(f"/api/meetings/{meeting_id}/audio", headers={"Range": "bytes=44-143"})
    assert part.status_code == 206 and part.content == pcm[:100]
    assert part.headers["content-range"] == f"bytes 44-143/{44 + len(pcm)}"
    tail = user_client.get(f"/api/meetings/{meeting_id}/audio", headers={"Range": "bytes=-10"})
    assert tail.content == pcm[-10:]
    bad = user_client.get(f"/api/meetings/{meeting_id}/audio", headers={"Range": "bytes=99999999-"})
    assert bad.status_code == 416 and bad.json()["error"]["code"] == "range_not_satisfiable"


def test_acks_cover_durable_audio(user_client: TestClient) -> None:
    pcm = sentences_pcm([1, 2, 3])
    with user_client.websocket_connect("/ws/transcribe") as ws:
        start(ws)
        send_pcm(ws, pcm)
        # no frame follows: the tick acks them, a little past the second (a ping now and then
        # collects what came; a busy machine may take longer)
        acks: list[int] = []
        deadline = time.monotonic() + 10
        while not acks or acks[-1] < len(pcm):
            assert time.monotonic() < deadline, acks
            time.sleep(0.4)
            ws.send_json({"type": "ping"})
            acks += [m["received_bytes"] for m in receive_until(ws, "pong") if m["type"] == "ack"]
        assert acks[-1] == len(pcm)
        stop(ws)


def test_the_frame_that_completes_a_second_is_acked_at_once(user_client: TestClient) -> None:
    """An ack follows the frame that completes a second since the last one by an fsync, not
    by the phase of a timer: it covers that frame (a timer's ack at the second would not)."""
    frame = b"\x00\x00" * 1600  # 100 ms
    with user_client.websocket_connect("/ws/transcribe") as ws:
        start(ws)
        ws.send_bytes(frame)
        time.sleep(1.05)
        ws.send_bytes(frame)
        ws.send_json({"type": "ping"})
        acks = [m for m in receive_until(ws, "pong") if m["type"] == "ack"]
        if not acks:  # the ack may follow the pong
            time.sleep(0.5)
            ws.send_json({"type": "ping"})
            acks = [m for m in receive_until(ws, "pong") if m["type"] == "ack"]
        assert acks[0] == {"type": "ack", "received_bytes": 2 * len(frame)}
        stop(ws)


def _error(ws: object, expected_code: int) -> dict[str, object]:
    message = ws.receive_json()  # type: ignore[attr-defined]
    assert message["type"] == "error", message
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()  # type: ignore[attr-defined]
    assert closed.value.code == expected_code
    return message


@pytest.mark.parametrize(
    "send, code, error",
    [
        (lambda ws: ws.send_bytes(b"\x00" * 3200), 4400, "not_started"),
        (lambda ws: ws.send_text("not json"), 4400, "bad_json"),
        (lambda ws: ws.send_text("[1, 2]"), 4400, "bad_message"),
        (lambda ws: ws.send_json({"type": "dance"}), 4400, "unknown_type"),
        (
            lambda ws: ws.send_json({"type": "start", "sample_rate": 44100}),
            4400,
            "unsupported_audio",
        ),
        (lambda ws: ws.send_json({"type": "start", "encoding": "opus"}), 4400, "unsupported_audio"),
        (lambda ws: ws.send_json({"type": "start", "title": 5}), 4400, "bad_start"),
        (lambda ws: ws.send_json({"type": "stop"}), 4400, "not_started"),
        (lambda ws: ws.send_json({"type": "resume", "session_id": 1}), 4400, "bad_resume"),
        (
            lambda ws: ws.send_json({"type": "resume", "session_id": "nope", "resume_token": "x"}),
            4404,
            "session_not_found",
        ),
        (
            lambda ws: ws.send_json({"type": "start", "meeting_id": 999999}),
            4404,
            "meeting_not_found",
        ),
    ],
)
def test_bad_input_gets_a_typed_error_and_close_code(
    user_client: TestClient, send: object, code: int, error: str
) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        send(ws)  # type: ignore[operator]
        assert _error(ws, code)["code"] == error
    # the server keeps serving
    assert user_client.get("/healthz").status_code == 200


def test_oversized_frame_is_refused_and_audio_so_far_kept(user_client: TestClient) -> None:
    pcm = sentences_pcm([1, 2, 3])
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        send_pcm(ws, pcm)
        ws.send_bytes(b"\x00" * (64 * 1024 + 2))
        messages = receive_until(ws, "error")
        assert messages[-1]["code"] == "frame_too_large"
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4413
    audio = user_client.get(f"/api/meetings/{meeting_id}/audio")
    assert audio.content[44:] == pcm  # nothing acknowledged or received is lost


def test_unauthenticated_and_bad_origin(client: TestClient, user_client: TestClient) -> None:
    with client.websocket_connect("/ws/transcribe") as ws:
        assert _error(ws, 4401)["code"] == "unauthenticated"
    with user_client.websocket_connect(
        "/ws/transcribe", headers={"Authorization": "Bearer bad"}
    ) as ws:
        assert _error(ws, 4401)["code"] == "invalid_token"
    with user_client.websocket_connect(
        "/ws/transcribe", headers={"Origin": "https://evil.example"}
    ) as ws:
        assert _error(ws, 4403)["code"] == "bad_origin"


def test_bearer_token_can_stream(user_client: TestClient, app: FastAPI) -> None:
    token = csrf_from(user_client.get("/settings").text)
    page = user_client.post("/settings/tokens", data={"name": "bot", "csrf_token": token})
    plain = page.text.split('id="new-token">')[1].split("<")[0]
    bot = TestClient(app)
    with bot.websocket_connect(
        "/ws/transcribe", headers={"Authorization": f"Bearer {plain}"}
    ) as ws:
        start(ws, title="From a script")
        send_pcm(ws, sentences_pcm([4, 5]))
        stopped, _ = stop(ws)
    assert stopped["words"] == 2


def test_resume_after_a_drop_loses_and_duplicates_nothing(user_client: TestClient) -> None:
    first_half = sentences_pcm([1, 2, 3], [4, 5])
    second_half = sentences_pcm([6, 7, 8], [9, 10])
    with user_client.websocket_connect("/ws/transcribe") as ws:
        started = start(ws, title="Flaky wifi")
        send_pcm(ws, first_half)
        time.sleep(1.2)
        ws.send_json({"type": "ping"})
        before = receive_until(ws, "pong")
    # the connection dropped; a new one resumes
    with user_client.websocket_connect("/ws/transcribe") as ws:
        ws.send_json(
            {
                "type": "resume",
                "session_id": started["session_id"],
                "resume_token": started["resume_token"],
            }
        )
        resumed = ws.receive_json()
        assert resumed["type"] == "resumed" and resumed["received_bytes"] == len(first_half)
        send_pcm(ws, second_half)
        stopped, after = stop(ws)
    words = final_words(before + after)
    assert words == words_of([1, 2, 3], [4, 5], [6, 7, 8], [9, 10])
    audio = user_client.get(f"/api/meetings/{started['meeting_id']}/audio").content[44:]
    assert audio == first_half + second_half
    assert stopped["duration_ms"] == pytest.approx(len(audio) / 32, abs=1)


def test_a_resume_supersedes_a_half_open_connection(user_client: TestClient) -> None:
    first = sentences_pcm([1, 2])
    with user_client.websocket_connect("/ws/transcribe") as old:
        started = start(old)
        send_pcm(old, first)
        with user_client.websocket_connect("/ws/transcribe") as new:
            new.send_json(
                {
                    "type": "resume",
                    "session_id": started["session_id"],
                    "resume_token": started["resume_token"],
                }
            )
            assert new.receive_json()["type"] == "resumed"
            old.send_bytes(b"\x00\x00" * 1600)  # the old socket wakes up: refused, not recorded
            assert receive_until(old, "error")[-1]["code"] == "superseded"
            send_pcm(new, sentences_pcm([3]))
            stopped, _ = stop(new)
    assert stopped["words"] == 3


def test_resume_needs_the_right_token_and_workspace(
    user_client: TestClient, other_client: TestClient
) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        started = start(ws)
        send_pcm(ws, sentences_pcm([1]))
        for client, token in [(user_client, "wrong"), (other_client, started["resume_token"])]:
            with client.websocket_connect("/ws/transcribe") as intruder:
                intruder.send_json(
                    {"type": "resume", "session_id": started["session_id"], "resume_token": token}
                )
                assert _error(intruder, 4404)["code"] == "session_not_found"
        stop(ws)


def test_drop_without_resume_completes_the_meeting(app: FastAPI, settings: Settings) -> None:
    settings.resume_grace_s = 0.5
    app.state.live.resume_grace_s = 0.5
    with TestClient(app) as client:
        signup(client, "ada@example.com")
        with client.websocket_connect("/ws/transcribe") as ws:
            meeting_id = start(ws)["meeting_id"]
            send_pcm(ws, sentences_pcm([1, 2, 3]))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            meeting = client.get(f"/api/meetings/{meeting_id}").json()
            if meeting["status"] == "completed":
                break
            time.sleep(0.1)
        assert meeting["status"] == "completed" and meeting["word_count"] == 3


def test_viewers_follow_a_live_meeting(user_client: TestClient, app: FastAPI) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        send_pcm(ws, sentences_pcm([1, 2, 3]))
        with user_client.websocket_connect(f"/ws/meetings/{meeting_id}/live") as viewer:
            first = viewer.receive_json()
            assert first["type"] == "transcript" and first["status"] == "live"
            send_pcm(ws, sentences_pcm([4, 5, 6]))
            stop(ws)
            events = []
            while not events or events[-1]["type"] != "stopped":
                events.append(viewer.receive_json())
    seen = [s for s in first["segments"]] + [e["segment"] for e in events if e["type"] == "final"]
    assert [w["text"].rstrip(".").lower() for s in seen for w in s["words"]] == words_of(
        [1, 2, 3], [4, 5, 6]
    )


def test_viewers_of_another_workspace_get_404(
    user_client: TestClient, other_client: TestClient
) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        with other_client.websocket_connect(f"/ws/meetings/{meeting_id}/live") as viewer:
            assert _error(viewer, 4404)["code"] == "not_found"
        with other_client.websocket_connect("/ws/meetings/999999/live") as viewer:
            assert _error(viewer, 4404)["code"] == "not_found"
        stop(ws)
    for path in ["", "/transcript", "/audio"]:
        response = other_client.get(f"/api/meetings/{meeting_id}{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_meeting_update_and_delete(user_client: TestClient, db: Session) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        send_pcm(ws, sentences_pcm([1]))
        token = csrf_from(user_client.get("/settings").text)
        refused = user_client.delete(f"/api/meetings/{meeting_id}", headers={"X-CSRF-Token": token})
        assert refused.status_code == 409
        stop(ws)
    headers = {"X-CSRF-Token": token}
    renamed = user_client.patch(
        f"/api/meetings/{meeting_id}", json={"title": "Renamed"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"
    path = Path(db.scalars(select(RecordingSession.audio_path)).one())
    assert path.exists()
    assert user_client.delete(f"/api/meetings/{meeting_id}", headers=headers).status_code == 204
    assert user_client.get(f"/api/meetings/{meeting_id}").status_code == 404
    assert not path.exists()
    assert db.scalar(select(Meeting).where(Meeting.id == meeting_id)) is None


def test_list_filters_and_pages(user_client: TestClient) -> None:
    for title in ["one", "two", "three"]:
        with user_client.websocket_connect("/ws/transcribe") as ws:
            start(ws, title=title)
            send_pcm(ws, sentences_pcm([1]))
            stop(ws)
    page = user_client.get("/api/meetings?per_page=2&page=2").json()
    assert page["total"] == 3 and [m["title"] for m in page["items"]] == ["one"]
    assert user_client.get("/api/meetings?status=live").json()["total"] == 0
    bad = user_client.get("/api/meetings?status=nope")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_restart_resume_restores_from_disk(settings: Settings, db: Session) -> None:
    """The server restarts mid-recording; the browser resumes against the new process."""
    first_half = sentences_pcm([1, 2, 3], [4, 5])
    second_half = sentences_pcm([6, 7])
    with TestClient(create_app(settings)) as client:
        signup(client, "ada@example.com")
        cookies = dict(client.cookies)
        with client.websocket_connect("/ws/transcribe") as ws:
            started = start(ws)
            send_pcm(ws, first_half)
            time.sleep(1.2)
            ws.send_json({"type": "ping"})
            before = receive_until(ws, "pong")
    # the old app shut down (its recorder suspended, the session left active); a new one starts
    with TestClient(create_app(settings), cookies=cookies) as client:
        with client.websocket_connect("/ws/transcribe") as ws:
            ws.send_json(
                {
                    "type": "resume",
                    "session_id": started["session_id"],
                    "resume_token": started["resume_token"],
                }
            )
            resumed = ws.receive_json()
            assert resumed["type"] == "resumed" and resumed["received_bytes"] == len(first_half)
            send_pcm(ws, second_half)
            stopped, after = stop(ws)
    assert final_words(before + after) == words_of([1, 2, 3], [4, 5], [6, 7])
    meeting = db.scalars(select(Meeting)).one()
    assert meeting.status is MeetingStatus.COMPLETED


def test_stale_recording_is_recovered(
    settings: Settings, db: Session, db_sessions: sessionmaker[Session]
) -> None:
    """A server died mid-recording: recovery transcribes its audio and completes the meeting."""
    settings.stale_after_s = 11
    pcm = sentences_pcm([1, 2, 3], [4, 5, 6])
    with TestClient(create_app(settings)) as client:
        signup(client, "ada@example.com")
        with client.websocket_connect("/ws/transcribe") as ws:
            started = start(ws)
            send_pcm(ws, pcm)
            time.sleep(1.2)
    recording = store.get_recording(db, external_id=started["session_id"])
    assert recording is not None and recording.status is SessionStatus.ACTIVE
    # pretend its heartbeat stopped a minute ago
    recording.last_heartbeat = recording.last_heartbeat.replace(year=2000)
    db.commit()
    done = recover_stale(
        db_sessions,
        load_engine("fake"),
        stale_after_s=settings.stale_after_s,
        config=StreamConfig(vad="energy"),
    )
    assert [d.external_id for d in done] == [started["session_id"]]
    db.expire_all()
    recording = store.get_recording(db, external_id=started["session_id"])
    assert recording is not None
    assert recording.status is SessionStatus.INTERRUPTED and recording.recovered
    assert recording.audio_bytes == len(pcm)
    meeting = db.get(Meeting, started["meeting_id"])
    assert meeting is not None and meeting.status is MeetingStatus.COMPLETED
    segments = store.list_transcript(db, meeting_id=meeting.id)
    assert [w["text"].rstrip(".").lower() for s in segments for w in s.words] == words_of(
        [1, 2, 3], [4, 5, 6]
    )


def test_recovery_leaves_alone_a_recording_its_process_holds(
    user_client: TestClient, app: FastAPI, db: Session, db_sessions: sessionmaker[Session]
) -> None:
    """A heartbeat late under load does not make a recording this process records dead."""
    with user_client.websocket_connect("/ws/transcribe") as ws:
        started = start(ws)
        send_pcm(ws, sentences_pcm([1, 2]))
        ws.send_json({"type": "ping"})
        receive_until(ws, "pong")
        recording = store.get_recording(db, external_id=started["session_id"])
        assert recording is not None
        recording.last_heartbeat = recording.last_heartbeat.replace(year=2000)
        db.commit()
        held = frozenset(app.state.live.recorders)
        assert held == {started["session_id"]}
        recover = functools.partial(
            recover_stale, db_sessions, load_engine("fake"), stale_after_s=30.0
        )
        assert recover(held=held) == []
        send_pcm(ws, sentences_pcm([3]))
        stopped, _ = stop(ws)
    assert stopped["words"] == 3
    assert recover() == []  # and once it is stopped, there is nothing to recover


def test_acks_go_on_after_a_failed_sync(
    user_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fsync that fails (a disk hiccup) does not stop the acks for the rest of the
    recording."""
    real_sync = AudioWriter.sync
    failures = []

    def flaky_sync(self: AudioWriter) -> int:
        if not failures:
            failures.append(self.path)
            raise OSError(errno.EIO, "Input/output error")
        return real_sync(self)

    monkeypatch.setattr(AudioWriter, "sync", flaky_sync)
    pcm = sentences_pcm([1, 2, 3])
    with user_client.websocket_connect("/ws/transcribe") as ws:
        start(ws)
        send_pcm(ws, pcm)
        acked = 0
        deadline = time.monotonic() + 10
        while acked < len(pcm) and time.monotonic() < deadline:
            time.sleep(0.5)
            ws.send_json({"type": "ping"})
            acks = [m for m in receive_until(ws, "pong") if m["type"] == "ack"]
            acked = max([acked] + [m["received_bytes"] for m in acks])
        assert failures and acked == len(pcm)
        stop(ws)


def test_a_recorder_that_cannot_open_leaves_no_meeting_live(
    user_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meeting row exists from the first instant; if the recording then cannot start (the
    speech model fails to load, say), the meeting is completed at once, not left live."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the speech model could not be loaded")

    monkeypatch.setattr(ws_module, "open_recorder", broken)
    with user_client.websocket_connect("/ws/transcribe") as ws:
        ws.send_json({"type": "start", "sample_rate": 16000, "encoding": "pcm_s16le"})
        assert _error(ws, 1011)["code"] == "server_error"
    (meeting,) = user_client.get("/api/meetings").json()["items"]
    assert meeting["status"] == "completed"
