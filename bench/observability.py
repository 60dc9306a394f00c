"""What /metrics and structured logs cost, and what the metrics say about one real stream.

1. In process: the request id and HTTP metrics middlewares per request (against the bare app),
   the confirmed-word lag meter per audio frame and per settled word.
2. A scrape of /metrics with 100,000 rows in the jobs table (the query counts them by name and
   state), on SQLite and, when MINA_TEST_DATABASE_URL names a server, PostgreSQL.
3. A real ``mina serve`` (whisper tiny.en, Silero VAD, SQLite) receives test speech over
   ``/ws/transcribe`` in real time (100 ms frames); then its /metrics: the confirmed-word lag
   and the decode times as the server measured them, beside the words the recording stored.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from starlette.types import Message, Receive, Scope, Send
from websockets.sync.client import connect

from bench.postgres import server_url, throwaway_database
from bench.server import ServerProcess
from bench.stats import emit
from mina import store
from mina.audio import decode_file, float32_to_pcm16
from mina.db import create_db_engine, create_session_factory
from mina.migrate import upgrade_database
from mina.models import Job, JobStatus, Workspace
from mina.observability.context import RequestIds
from mina.observability.http import HttpMetrics
from mina.observability.lag import WordLagMeter
from mina.observability.metrics import LiveState, Metrics

SPEECH = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech"
CLIPS = [
    "jfk",
    "sense_and_sensibility_01_austen_64kb-0870",
    "sense_and_sensibility_01_austen_64kb-0880",
]
JOB_ROWS = 100_000
FRAME = 3200


class _Route:
    path = "/api/meetings/{meeting_id}"


async def _bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = _Route
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _per_request(app: Any, rounds: int) -> float:
    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    started = time.perf_counter()
    for _ in range(rounds):
        scope = {"type": "http", "method": "GET", "path": "/api/meetings/7", "headers": []}
        await app(scope, receive, send)
    return (time.perf_counter() - started) / rounds


def _overheads() -> None:
    metrics = Metrics()
    rounds = 50_000
    bare = asyncio.run(_per_request(_bare_app, rounds))
    wrapped = asyncio.run(_per_request(RequestIds(HttpMetrics(_bare_app, metrics=metrics)), rounds))
    emit(f"request id + HTTP metrics middlewares: {(wrapped - bare) * 1e6:.1f} us a request")
    meter = WordLagMeter(metrics.word_lag_seconds.observe, sample_rate=16000)
    frames = 200_000
    started = time.perf_counter()
    for index in range(1, frames + 1):
        meter.mark_audio(index * FRAME)
    per_frame = (time.perf_counter() - started) / frames
    words = [(i * 0.1, i * 0.1 + 0.08) for i in range(100_000)]
    started = time.perf_counter()
    meter.observe_words(words)
    per_word = (time.perf_counter() - started) / len(words)
    emit(f"lag meter: {per_frame * 1e6:.2f} us an audio frame, {per_word * 1e6:.2f} us a word")


def _scrape(url: str, label: str) -> None:
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
    with sessions() as session:
        store.create_user(session, email="bench@example.com", password="bench password 1")
        session.commit()
        workspace = session.query(Workspace).one().id
        names = ["transcribe_upload", "diarize", "insights", "embed", "export_user_data"]
        states = list(JobStatus)
        rows = [
            {"workspace_id": workspace, "name": names[i % 5], "status": states[i % 4],
             "progress": 0.0, "payload": {}, "attempts": 0}
            for i in range(JOB_ROWS)
        ]  # fmt: skip
        session.execute(insert(Job), rows)
        session.commit()
    metrics = Metrics()
    metrics.watch(live=LiveState(lambda: 0, lambda: 0, lambda: 0), sessions=sessions)
    metrics.render()
    rounds = 10
    started = time.perf_counter()
    for _ in range(rounds):
        body = metrics.render()
    elapsed = (time.perf_counter() - started) / rounds
    emit(f"{label}: a scrape with {JOB_ROWS:,} job rows takes {elapsed * 1000:.0f} ms "
          f"({len(body):,} bytes)")  # fmt: skip
    engine.dispose()


def _histogram(families: dict[str, Any], name: str, **labels: str) -> str:
    samples = [
        s for s in families[name].samples if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    count = next(s.value for s in samples if s.name.endswith("_count"))
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    if not count:
        return "none"
    buckets = [(float(s.labels["le"]), s.value) for s in samples if s.name.endswith("_bucket")]
    p50 = next(le for le, v in buckets if v >= count / 2)
    p95 = next(le for le, v in buckets if v >= count * 0.95)
    return f"{count:.0f}, mean {total / count:.2f} s, p50 <= {p50:g} s, p95 <= {p95:g} s"


def _real_stream(directory: Path) -> None:
    pcm = b"".join(
        float32_to_pcm16(decode_file(SPEECH / f"{clip}.wav", sample_rate=16000)) for clip in CLIPS
    )
    server = ServerProcess(
        directory / "data",
        settings={"MINA_SECRET_KEY": "b" * 48},
        inherit_settings=False,
        log_path=directory / "server.log",
    )
    server.start()
    try:
        token = server.create_token("bench@example.com", "bench password 1")
        stopped: dict[str, Any] = {}
        headers = {"Authorization": f"Bearer {token}"}
        with connect(f"{server.ws_url}/ws/transcribe", additional_headers=headers) as ws:
            ws.send(json.dumps({"type": "start", "title": "Metrics", "sample_rate": 16000}))
            assert json.loads(ws.recv(timeout=60))["type"] == "started"

            def receive_until_stopped() -> None:
                while True:
                    message = json.loads(ws.recv(timeout=120))
                    if message["type"] == "stopped":
                        stopped.update(message)
                        return

            receiver = threading.Thread(target=receive_until_stopped)
            receiver.start()
            t0 = time.monotonic()
            for index, offset in enumerate(range(0, len(pcm), FRAME)):
                time.sleep(max(0.0, t0 + index * 0.1 - time.monotonic()))
                ws.send(pcm[offset : offset + FRAME])
            ws.send(json.dumps({"type": "stop"}))
            receiver.join(180)
        text = httpx.get(f"{server.base_url}/metrics", timeout=30).text
    finally:
        server.stop()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    seconds = len(pcm) / 32000
    emit(f"one real stream: {seconds:.1f} s of speech, {stopped.get('words')} words stored")
    emit(f"  confirmed-word lag: {_histogram(families, 'mina_confirmed_word_lag_seconds')}")
    for kind in ("streaming", "final"):
        emit(f"  {kind} decodes: {_histogram(families, 'mina_decode_seconds', **{'pass': kind})}")


def run(options: list[str] | None = None) -> None:
    _overheads()
    with tempfile.TemporaryDirectory() as directory:
        _scrape(f"sqlite:///{directory}/bench.db", "SQLite")
    server = server_url()
    if server:
        with throwaway_database(server, "bench_metrics") as url:
            _scrape(url, "PostgreSQL")
    with tempfile.TemporaryDirectory() as directory:
        _real_stream(Path(directory))


if __name__ == "__main__":
    run()
