"""Connections that end half-way leave nothing behind: viewers whose meeting ends by another
path, viewers that stop reading, uploads cut off or stalled mid-body."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from mina.live import events
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import signup
from tests.livehelp import receive_until, send_pcm, sentences_pcm, start
from tests.liveserver import live_server
from tests.uploadhelp import write_wav


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.05)


def test_viewers_see_the_end_of_a_meeting_that_recovery_completes(
    quick_settings: Settings,
) -> None:
    """The server stopped mid-recording and nobody resumes: the restarted server's recovery
    completes the meeting, and a viewer following it is told and let go."""
    settings = quick_settings.model_copy(update={"resume_grace_s": 60.0})
    with TestClient(create_app(settings)) as client:
        signup(client, "ada@example.com")
        cookies = dict(client.cookies)
        with client.websocket_connect("/ws/transcribe") as ws:
            meeting_id = start(ws)["meeting_id"]
            send_pcm(ws, sentences_pcm([1, 2, 3]))
            ws.send_json({"type": "ping"})
            receive_until(ws, "pong")
    # the first server is gone, its recording left active for a resume that never comes
    with TestClient(create_app(settings), cookies=cookies) as client:
        with client.websocket_connect(f"/ws/meetings/{meeting_id}/live") as viewer:
            first = viewer.receive_json()
            assert first["type"] == "transcript" and first["status"] == "live"
            assert viewer.receive_json() == {"type": "stopped", "meeting_id": meeting_id}
            with pytest.raises(WebSocketDisconnect) as closed:
                viewer.receive_json()
            assert closed.value.code == 1000
        meeting = client.get(f"/api/meetings/{meeting_id}").json()
        assert meeting["status"] == "completed" and meeting["word_count"] == 3


def test_a_viewer_that_falls_behind_is_closed_not_kept(
    user_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "QUEUE_SIZE", 3)
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        with user_client.websocket_connect(f"/ws/meetings/{meeting_id}/live") as viewer:
            assert viewer.receive_json()["type"] == "transcript"
            bus = user_client.app.state.live.bus  # type: ignore[attr-defined]

            def burst() -> None:  # faster than any viewer reads: all on the loop at once
                for n in range(10):
                    bus.publish(meeting_id, {"type": "interim", "text": f"word{n}"})

            user_client.portal.call(burst)  # type: ignore[union-attr]
            seen = []
            with pytest.raises(WebSocketDisconnect) as closed:
                while True:
                    seen.append(viewer.receive_json())
            assert seen[-1]["type"] == "error" and seen[-1]["code"] == "too_slow"
            assert closed.value.code == 1013
            assert bus.subscriber_count(meeting_id) == 0
        ws.send_json({"type": "stop"})
        receive_until(ws, "stopped")  # the recording itself was never disturbed


def _upload_head(token: str, length: int, boundary: str = "xyzzy") -> bytes:
    return (
        "POST /api/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\n\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="meeting.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("how", ["disconnect", "stall"])
def test_an_upload_cut_off_mid_body_leaves_no_file_and_no_meeting(
    quick_settings: Settings, ada_token: str, tmp_path: Path, how: str
) -> None:
    wav = write_wav(tmp_path / "meeting.wav", sentences_pcm([1, 2, 3], [4, 5]) * 4).read_bytes()
    with live_server(quick_settings) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(_upload_head(ada_token, len(wav) + 200) + wav[: len(wav) // 2])
            wait_for(
                lambda: bool(_files(quick_settings.upload_dir)), 5, "the body is written to disk"
            )
            if how == "disconnect":
                sock.shutdown(socket.SHUT_RDWR)
            else:  # the client goes quiet: given up after MINA_IDLE_TIMEOUT_S (1 s here)
                reply = sock.recv(65536).decode()
                assert reply.startswith("HTTP/1.1 408"), reply
                assert '"code":"upload_stalled"' in reply.replace(" ", "")
        wait_for(lambda: not _files(quick_settings.upload_dir), 5, "the partial file is removed")
        with server.http(ada_token) as http:
            assert http.get("/api/meetings").json()["total"] == 0
            assert http.get("/healthz").status_code == 200
