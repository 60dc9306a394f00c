"""kill -9 mid-recording: every acknowledged byte of audio, and its words, survive a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from mina import store
from mina.audiostore import audio_size
from tests.conftest import PASSWORD, TEST_SECRET
from tests.livehelp import FRAME, sentences_pcm, words_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`mina serve` as a real process that a test can kill and start again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mina", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    env = {
        **os.environ,
        "MINA_DATA_DIR": str(tmp_path / "data"),
        "MINA_DATABASE_URL": database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_HEARTBEAT_S": "1",
        "MINA_STALE_AFTER_S": "3",
        "MINA_LOG_LEVEL": "INFO",
    }
    running = Server(env, tmp_path / "server.log")
    try:
        yield running
    finally:
        running.stop()


def test_kill_9_mid_recording_loses_no_acknowledged_audio(server: Server, db: Session) -> None:
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
    meeting_url = f"{server.base}/api/meetings/{started['meeting_id']}"
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    meeting: dict[str, object] = {}
    while time.monotonic() < deadline:
        meeting = httpx.get(meeting_url, headers=headers).json()
        if meeting["status"] == "completed":
            break
        time.sleep(0.3)
    assert meeting["status"] == "completed", server.log.read_text()[-3000:]

    audio = httpx.get(f"{meeting_url}/audio", headers=headers)
    assert audio.content[44 : 44 + acked] == sent[:acked]
    transcript = httpx.get(f"{meeting_url}/transcript", headers=headers).json()["segments"]
    words = [w["text"].rstrip(".").lower() for s in transcript for w in s["words"]]
    assert words == words_of([1, 2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12])
    assert [s["seq"] for s in transcript] == list(range(len(transcript)))
    assert "recovered recording" in server.log.read_text()
