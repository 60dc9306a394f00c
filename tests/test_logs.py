"""Structured logs: ``MINA_LOG_FORMAT=json`` makes ``mina serve`` write one JSON object per
line, naming the request, and within a recording its meeting and session; request ids."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from bench.server import ServerProcess
from mina import store
from mina.cli import main
from mina.observability.context import bind_recording, request_id
from mina.observability.logs import JsonFormatter
from tests.conftest import PASSWORD, TEST_SECRET
from tests.livehelp import FRAME, sentences_pcm

PROXY_ID = "f3b1c0de-0000-4000-8000-00000000abcd"


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    settings = {
        "MINA_DATABASE_URL": database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_LOG_FORMAT": "json",
        # no post-meeting jobs: they would only slow the server down and its shutdown
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
        "MINA_SEMANTIC_SEARCH": "false",
    }
    running = ServerProcess(tmp_path / "data", settings=settings, log_path=tmp_path / "server.log")
    try:
        yield running
    finally:
        running.stop()


def record(server: ServerProcess, token: str) -> dict[str, Any]:
    """A short recording over a real WebSocket; the ``started`` event."""
    pcm = sentences_pcm([1, 2, 3], [4, 5])
    url = f"{server.ws_url}/ws/transcribe"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(json.dumps({"type": "start", "title": "Logged", "sample_rate": 16000}))
        started: dict[str, Any] = json.loads(ws.recv(timeout=10))
        assert started["type"] == "started", started
        for offset in range(0, len(pcm), FRAME):
            ws.send(pcm[offset : offset + FRAME])
        ws.send(json.dumps({"type": "stop"}))
        while json.loads(ws.recv(timeout=20))["type"] != "stopped":
            pass
    return started


def test_json_logs_name_the_request_meeting_and_session(server: ServerProcess, db: Session) -> None:
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="logs test")
    db.commit()
    server.start()
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        proxied = client.get("/healthz", headers={"X-Request-ID": PROXY_ID})
        assert proxied.headers["x-request-id"] == PROXY_ID
        own = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert own.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", own.headers["x-request-id"])
        started = record(server, token)
        # the process's metrics, scraped over real TCP from this machine
        metrics = client.get("/metrics")
        assert (
            metrics.status_code == 200 and "mina_confirmed_word_lag_seconds_count" in metrics.text
        )
    assert server.wait_for_log("recording " + started["session_id"] + " completed", 10)
    server.stop()

    lines = [line for line in server.log_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(entries) > 5
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert entry["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

    access = [e for e in entries if e["logger"] == "mina.access"]
    health = next(e for e in access if e["path"] == "/healthz" and e.get("request_id") == PROXY_ID)
    assert health["status"] == 200 and health["method"] == "GET" and health["duration_ms"] >= 0
    me = next(e for e in access if e["path"] == "/api/me")
    assert me["request_id"] == own.headers["x-request-id"]

    recording = [e for e in entries if started["session_id"] in e["message"]]
    assert [e["message"].split()[2] for e in recording][:1] == ["started"]
    assert any(" completed:" in e["message"] for e in recording)
    for entry in recording:  # the socket's lines and the recorder's own tasks' lines
        assert entry["meeting_id"] == started["meeting_id"], entry
        assert entry["session_id"] == started["session_id"], entry
    # lines outside a recording name none
    assert "meeting_id" not in health and "session_id" not in health


def test_request_ids_are_kept_only_when_well_formed(client: TestClient) -> None:
    for sent in ("short", "has space in it", "x" * 200, "semi;colon;id;1234"):
        answered = client.get("/healthz", headers={"X-Request-ID": sent}).headers["x-request-id"]
        assert answered != sent and re.fullmatch(r"[0-9a-f]{32}", answered)
    first = client.get("/healthz").headers["x-request-id"]
    assert client.get("/healthz").headers["x-request-id"] != first


def test_json_lines_carry_exceptions_and_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("mina.test_logs")
    logger.addHandler(handler)
    logger.propagate = False

    def log_in_a_request() -> None:
        request_id.set("req-0001-abcd")
        bind_recording(meeting=42, session="0a1b")
        try:
            raise ValueError("broken\nacross lines")
        except ValueError:
            logger.exception("it failed: %s", "twice\nover", extra={"status": 500})

    try:
        contextvars.copy_context().run(log_in_a_request)  # the ids stay in that context
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # newlines in the message and traceback stay inside the JSON
    entry = json.loads(lines[0])
    assert entry["message"] == "it failed: twice\nover" and entry["level"] == "ERROR"
    assert entry["request_id"] == "req-0001-abcd" and entry["status"] == 500
    assert entry["meeting_id"] == 42 and entry["session_id"] == "0a1b"
    assert "ValueError: broken" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_an_unknown_log_format_is_refused_at_start(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env={**cli_env, "MINA_LOG_FORMAT": "xml"})
    assert result.exit_code != 0
    assert "invalid settings: log_format" in result.output and "'json'" in result.output
    assert "up to date" not in result.output  # refused before anything ran
