"""kill -9 mid-recording: every acknowledged byte of audio, and its words, survive a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from bench.server import ServerProcess
from mina import store
from mina.audiostore import audio_size
from tests.conftest import PASSWORD
from tests.livehelp import FRAME, sentences_pcm, words_of
from tests.liveserver import fake_server_env


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    settings = fake_server_env(database_url, MINA_STALE_AFTER_S="3")
    running = ServerProcess(tmp_path / "data", settings=settings, log_path=tmp_path / "server.log")
    try:
        yield running
    finally:
        running.stop()


def test_kill_9_mid_recording_loses_no_acknowledged_audio(
    server: ServerProcess, db: Session
) -> None:
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="crash test")
    db.commit()
    server.start()

    sent = sentences_pcm([1, 2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12])
    ws_url = f"ws://127.0.0.1:{server.port}/ws/transcribe"
    acked = 0
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(json.dumps({"type": "start", "title": "Doomed", "sample_rate": 16000}))
        started = json.loads(ws.recv(timeout=10))
        assert started["type"] == "started"
        for offset in range(0, len(sent), FRAME):
            ws.send(sent[offset : offset + FRAME])
        deadline = time.monotonic() + 15
        while acked < len(sent) and time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=5))
            if message["type"] == "ack":
                acked = message["received_bytes"]
        assert acked == len(sent)
        server.kill()  # SIGKILL: no shutdown hook runs

    recording = store.get_recording(db, external_id=started["session_id"])
    assert recording is not None
    assert audio_size(Path(recording.audio_path)) >= acked

    server.start()  # recovery at start-up finds the stale recording
    meeting_url = f"{server.base_url}/api/meetings/{started['meeting_id']}"
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    meeting: dict[str, object] = {}
    while time.monotonic() < deadline:
        meeting = httpx.get(meeting_url, headers=headers).json()
        if meeting["status"] == "completed":
            break
        time.sleep(0.3)
    assert meeting["status"] == "completed", server.log_text()[-3000:]

    audio = httpx.get(f"{meeting_url}/audio", headers=headers)
    assert audio.content[44 : 44 + acked] == sent[:acked]
    transcript = httpx.get(f"{meeting_url}/transcript", headers=headers).json()["segments"]
    words = [w["text"].rstrip(".").lower() for s in transcript for w in s["words"]]
    assert words == words_of([1, 2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12])
    assert [s["seq"] for s in transcript] == list(range(len(transcript)))
    assert "recovered recording" in server.log_text()
