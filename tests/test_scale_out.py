"""Two real ``mina serve`` processes on one data directory, one database and one Redis.

A viewer connected to B follows a recording streamed to A; a resume on B takes the recording
over (A stops writing at once and closes its connection with 4409); the meeting completes with
every acknowledged byte of audio once, in order, and every word once. Failed logins on A and B
count together. Timeouts are generous and nothing waits a fixed time to decide an assertion.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from bench.server import ServerFailed, ServerProcess
from mina import store
from tests.conftest import PASSWORD, TEST_SECRET, csrf_from
from tests.livehelp import FRAME, sentences_pcm, words_of
from tests.redishelp import RedisServer

FIRST = ([1, 2, 3], [4, 5, 6])
SECOND = ([7, 8], [9, 10, 11])
LOGIN_LIMIT = 3


def _settings(database_url: str, redis_: RedisServer) -> dict[str, str]:
    return {
        "MINA_DATABASE_URL": database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_HEARTBEAT_S": "1",
        "MINA_STALE_AFTER_S": "10",
        "MINA_LIVE_SPEAKERS": "false",
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
        "MINA_SEMANTIC_SEARCH": "false",
        "MINA_LOGIN_ATTEMPTS_PER_MINUTE": str(LOGIN_LIMIT),
        **redis_.env,
    }


@pytest.fixture
def servers(
    tmp_path: Path, database_url: str, redis_server: RedisServer
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    settings = _settings(database_url, redis_server)
    data = tmp_path / "data"  # the shared volume
    a = ServerProcess(data, settings=settings, log_path=tmp_path / "a.log")
    b = ServerProcess(data, settings=settings, log_path=tmp_path / "b.log")
    try:
        with ThreadPoolExecutor(2) as starting:  # each start imports and migrates: in parallel
            list(starting.map(lambda server: server.start(), (a, b)))
        yield a, b
    finally:
        a.stop()
        b.stop()


def _connect(server: ServerProcess, token: str, path: str) -> ClientConnection:
    return connect(
        f"{server.ws_url}{path}",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=20,
        close_timeout=5,
    )


def _receive(ws: ClientConnection, timeout: float = 30.0) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=timeout))
    assert isinstance(message, dict)
    return message


def _send_all(ws: ClientConnection, pcm: bytes) -> None:
    for offset in range(0, len(pcm), FRAME):
        ws.send(pcm[offset : offset + FRAME])


def _wait_for_ack(ws: ClientConnection, upto: int) -> None:
    deadline = time.monotonic() + 60
    acked = 0
    while acked < upto:
        assert time.monotonic() < deadline, f"acked {acked} of {upto} bytes"
        message = _receive(ws)
        if message["type"] == "ack":
            acked = message["received_bytes"]


def _closed_code(ws: ClientConnection) -> int | None:
    """Read until the server closes the connection; its close code."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=30)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the connection stayed open")


def _words(segments: list[dict[str, Any]]) -> list[str]:
    return [w["text"].rstrip(".").lower() for s in segments for w in s["words"]]


def test_a_viewer_on_b_follows_a_and_a_resume_on_b_takes_over(
    servers: tuple[ServerProcess, ServerProcess], db: Session, redis_server: RedisServer
) -> None:
    a, b = servers
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="scale-out test")
    db.commit()
    first, second = sentences_pcm(*FIRST), sentences_pcm(*SECOND)

    with _connect(a, token, "/ws/transcribe") as on_a:
        on_a.send(json.dumps({"type": "start", "title": "Across", "sample_rate": 16000}))
        started = _receive(on_a)
        assert started["type"] == "started", started
        meeting_id = started["meeting_id"]
        with _connect(b, token, f"/ws/meetings/{meeting_id}/live") as viewer:
            so_far = _receive(viewer)
            assert so_far["type"] == "transcript" and so_far["status"] == "live"
            _send_all(on_a, first)
            _wait_for_ack(on_a, len(first))

            # the viewer on B sees A's words as A transcribes them
            seen: list[dict[str, Any]] = list(so_far["segments"])
            deadline = time.monotonic() + 60
            while len(_words(seen)) < 3:
                assert time.monotonic() < deadline, "no final segment reached the viewer on B"
                event = _receive(viewer)
                if event["type"] == "final":
                    seen.append(event["segment"])

            # the browser resumes on B while its connection to A is still open
            with _connect(b, token, "/ws/transcribe") as on_b:
                on_b.send(
                    json.dumps(
                        {
                            "type": "resume",
                            "session_id": started["session_id"],
                            "resume_token": started["resume_token"],
                        }
                    )
                )
                resumed = _receive(on_b, timeout=60)
                assert resumed["type"] == "resumed", resumed
                assert resumed["received_bytes"] == len(first)
                # A has stopped writing: a late frame on the old connection is not appended
                try:
                    on_a.send(b"\x7f\x7f" * (FRAME // 2))
                except ConnectionClosed:
                    pass
                assert _closed_code(on_a) == 4409
                _send_all(on_b, second)
                on_b.send(json.dumps({"type": "stop"}))
                while (stopped := _receive(on_b, timeout=60))["type"] != "stopped":
                    pass

            while True:
                event = _receive(viewer, timeout=60)
                if event["type"] == "final":
                    seen.append(event["segment"])
                if event["type"] == "stopped":
                    break

    spoken = words_of(*FIRST, *SECOND)
    assert _words(seen) == spoken, "the viewer on B saw every word once, in order"
    assert stopped["words"] == len(spoken)
    headers = {"Authorization": f"Bearer {token}"}
    meeting_url = f"{a.base_url}/api/meetings/{meeting_id}"
    meeting = httpx.get(meeting_url, headers=headers, timeout=30).json()
    assert meeting["status"] == "completed"
    audio = httpx.get(f"{meeting_url}/audio", headers=headers, timeout=30)
    assert audio.content[44:] == first + second  # every acknowledged byte once, in order
    transcript = httpx.get(f"{meeting_url}/transcript", headers=headers, timeout=30).json()
    assert _words(transcript["segments"]) == spoken
    assert [s["seq"] for s in transcript["segments"]] == list(range(len(transcript["segments"])))
    assert "handing it over" in a.log_text()
    assert "took recording" in b.log_text()

    _failed_logins_on_a_and_b_count_together(a, b)
    assert any(":login:" in key for key in redis_server.keys()), "the counts live in Redis"


def _failed_logins_on_a_and_b_count_together(a: ServerProcess, b: ServerProcess) -> None:
    """(In the same test: two more server processes per database would double its time.)"""

    def try_login(server: ServerProcess, password: str) -> int:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            csrf = csrf_from(client.get("/login").text)
            answer = client.post(
                "/login",
                data={"email": "ada@example.com", "password": password, "csrf_token": csrf},
                follow_redirects=False,
            )
            return answer.status_code

    statuses = [try_login(server, "wrong password") for server in (a, b, a)]
    assert statuses == [401] * LOGIN_LIMIT
    # B has seen one failure itself: only the shared count refuses it
    assert try_login(b, PASSWORD) == 429
    assert try_login(a, PASSWORD) == 429


def test_serve_refuses_to_start_without_its_redis(tmp_path: Path) -> None:
    settings = {"MINA_REDIS_URL": "redis://127.0.0.1:1/0", "MINA_ENGINE": "fake"}
    server = ServerProcess(tmp_path / "data", settings=settings, log_path=tmp_path / "a.log")
    try:
        with pytest.raises(ServerFailed, match="exited with status 1"):
            server.start(timeout_s=60)
    finally:
        server.stop()
    assert "MINA_REDIS_URL: cannot reach Redis at redis://127.0.0.1:1/0" in server.log_text()
