"""Mina as a company deploys it (README, "Scaling out"), in real processes: two ``mina serve``
(A and B) on one data directory, one PostgreSQL database and one Redis, running no jobs
themselves (``MINA_JOB_WORKERS=0``), and ``mina worker`` processes taking the jobs from a queue
in Redis.

- A recording streamed to A is cut off (the network goes away) and resumed on B; A then takes it
  back while B's connection is still open (B closes with 4409). A viewer on B follows it all.
  The meeting completes with every sentence once and the audio byte-identical to what was sent.
- An upload of real speech through A is transcribed by a worker (tiny.en). The worker is killed
  (SIGKILL) once it has stored segments; a new one finishes the job with no text repeated, and B
  serves the completed meeting.
- Failed logins on A and B count together.

The web processes run the fake engine (exact words for the live stream), the workers tiny.en.
On SQLite, two web processes share a recording the same way (no workers). Timeouts are
generous and nothing waits a fixed time to decide an assertion.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jiwer
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from bench.server import ServerFailed, ServerProcess
from mina import store
from mina.models import JobStatus, Segment
from tests.browser import make_fake_microphone
from tests.conftest import PASSWORD, csrf_from
from tests.livehelp import FRAME, sentences_pcm, words_of
from tests.liveserver import close_code, drop, fake_server_env, receive_json, send_json
from tests.redishelp import RedisServer
from tests.speechdata import normalize_text
from tests.uploadhelp import CLIPS, WER_BOUND, ffmpeg, wait_job
from tests.workerhelp import kill_worker, read_job, wait_for, worker

FIRST = ([1, 2, 3], [4, 5, 6])  # to A, then the network goes away
SECOND = ([7, 8], [9, 10, 11])  # resumed on B
THIRD = ([12, 13], [14, 15])  # A takes it back
LOGIN_LIMIT = 3
PASSES = 3  # the upload: the tuning clips three times over, 72 s of real speech
# words tiny.en adds to one pass of them (seen: 0 or 1 in three passes; a stretch transcribed
# twice adds a segment's words)
INSERTED_WORDS = 1


def _web_settings(
    database_url: str, redis_: RedisServer, queue_url: str | None = None
) -> dict[str, str]:
    # a recording beats every second; a worker's job is sent again 4 s after its last beat
    settings = fake_server_env(
        database_url,
        MINA_STALE_AFTER_S="4",
        MINA_LIVE_SPEAKERS="false",
        MINA_DIARIZATION="false",
        MINA_INSIGHTS="off",
        MINA_SEMANTIC_SEARCH="false",
        MINA_LOGIN_ATTEMPTS_PER_MINUTE=str(LOGIN_LIMIT),
        **redis_.env,
    )
    if queue_url is not None:
        settings.update(MINA_QUEUE_URL=queue_url, MINA_JOB_WORKERS="0")
    return settings


@contextmanager
def _web_processes(
    tmp_path: Path, settings: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
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


@pytest.fixture(scope="module")
def upload_speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tuning clips PASSES times over as one WAV, and the reference text of one pass: long
    enough that a worker stores segments well before the end of the job."""
    folder = tmp_path_factory.mktemp("upload")
    source = make_fake_microphone(folder / "speech.wav", CLIPS, tail_s=1.0)
    looped = folder / "looped.wav"
    ffmpeg("-stream_loop", str(PASSES - 1), "-i", str(source.wav), "-c:a", "pcm_s16le", str(looped))
    return looped, source.reference


def _assert_said_once(segments: list[dict[str, Any]], reference: str) -> None:
    """The upload's transcript (segments as the API gives them): in order, each segment after
    the one before, every word once. A stretch transcribed twice (a job resumed before the text
    it had stored) shows as overlapping times and as inserted words."""
    assert [s["seq"] for s in segments] == list(range(len(segments)))
    for before, after in zip(segments, segments[1:], strict=False):
        assert after["start_ms"] >= before["end_ms"] - 1, (before, after)
    said = normalize_text(" ".join(s["text"] for s in segments))
    measures = jiwer.process_words(normalize_text(" ".join([reference] * PASSES)), said)
    assert measures.wer <= WER_BOUND, (measures.wer, said)
    assert measures.insertions <= INSERTED_WORDS * PASSES, (measures.insertions, said)


def _token(db: Session) -> str:
    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, token = store.create_api_token(db, user=user, name="multi-process test")
    db.commit()
    return token


def test_two_web_processes_and_workers_share_recordings_uploads_and_logins(
    backend: str,
    tmp_path: Path,
    database_url: str,
    redis_server: RedisServer,
    redis_queue: str,
    db: Session,
    db_sessions: sessionmaker[Session],
    upload_speech: tuple[Path, str],
) -> None:
    if backend != "postgresql":
        pytest.skip("workers are deployed with PostgreSQL (SQLite: the test below)")
    web = _web_settings(database_url, redis_server, redis_queue)
    workers = {
        **web,
        "MINA_DATA_DIR": str(tmp_path / "data"),
        "MINA_ENGINE": "whisper",
        "MINA_VAD": "silero",
        "MINA_DECODE_WORKERS": "1",
        "MINA_LOG_LEVEL": "INFO",
    }
    token = _token(db)
    auth = {"Authorization": f"Bearer {token}"}
    path, reference = upload_speech

    def stored_segments(meeting_id: int) -> int:
        with db_sessions() as session:
            query = select(func.count(Segment.id)).where(Segment.meeting_id == meeting_id)
            return int(session.scalar(query) or 0)

    with (
        worker(workers, tmp_path / "first.log") as first,
        _web_processes(tmp_path, web) as (a, b),
        httpx.Client(base_url=b.base_url, headers=auth, timeout=60) as on_b,
    ):
        with path.open("rb") as audio:
            answer = httpx.post(
                f"{a.base_url}/api/transcriptions",
                files={"file": (path.name, audio, "audio/wav")},
                data={"title": "Reading"},
                headers=auth,
                timeout=60,
            )
        assert answer.status_code == 202, answer.text
        job_id, upload_id = answer.json()["job_id"], answer.json()["meeting_id"]

        # the first worker has stored some of the transcript when it dies
        wait_for(lambda: stored_segments(upload_id) > 0, 180, "the first worker's segments")
        kill_worker(first)
        stored_before = stored_segments(upload_id)
        killed = read_job(db_sessions, job_id)
        assert killed.status is JobStatus.RUNNING and 0 < killed.progress < 1
        assert killed.attempts == 1

        second = tmp_path / "second.log"
        with worker(workers, second):
            live_id = _cut_resume_and_take_back(a, b, token)  # meanwhile
            job, _ = wait_job(on_b, job_id, timeout_s=180, poll_s=0.2)
            # the live meeting's playback copy is made by a worker too
            wait_for(
                lambda: f"meeting {live_id}: playback copy" in second.read_text(),
                60,
                "the playback copy of the live meeting",
            )
        assert job["status"] == "done", second.read_text()[-3000:]
        assert read_job(db_sessions, job_id).attempts == 2
        assert on_b.get(f"/api/meetings/{upload_id}").json()["status"] == "completed"
        segments = on_b.get(f"/api/meetings/{upload_id}/transcript").json()["segments"]
        assert len(segments) > stored_before
        _assert_said_once(segments, reference)

        _failed_logins_on_a_and_b_count_together(a, b)
        assert any(":login:" in key for key in redis_server.keys()), "the counts live in Redis"

    assert f"job {job_id} (transcribe_upload) done" not in (tmp_path / "first.log").read_text()
    assert f"job {job_id} (transcribe_upload) done" in second.read_text()
    for server in (a, b):  # the web processes ran no job
        assert "(transcribe_upload) started" not in server.log_text()
        assert "playback copy" not in server.log_text()


def test_two_web_processes_share_a_recording_on_sqlite(
    backend: str,
    tmp_path: Path,
    database_url: str,
    redis_server: RedisServer,
    db: Session,
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL: in the test of the whole deployment above")
    token = _token(db)
    with _web_processes(tmp_path, _web_settings(database_url, redis_server)) as (a, b):
        _cut_resume_and_take_back(a, b, token)
        _failed_logins_on_a_and_b_count_together(a, b)


def _connect(server: ServerProcess, token: str, path: str) -> ClientConnection:
    return connect(
        f"{server.ws_url}{path}",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=20,
        close_timeout=5,
    )


def _send_all(ws: ClientConnection, pcm: bytes) -> None:
    for offset in range(0, len(pcm), FRAME):
        ws.send(pcm[offset : offset + FRAME])


def _wait_for_ack(ws: ClientConnection, upto: int) -> None:
    deadline = time.monotonic() + 60
    acked = 0
    while acked < upto:
        assert time.monotonic() < deadline, f"acked {acked} of {upto} bytes"
        message = receive_json(ws, timeout=30)
        if message["type"] == "ack":
            acked = message["received_bytes"]


@contextmanager
def _resume(
    server: ServerProcess, token: str, started: dict[str, Any]
) -> Iterator[ClientConnection]:
    """A new connection to ``server`` that has sent ``resume`` for the recording ``started``."""
    with _connect(server, token, "/ws/transcribe") as ws:
        resume = {k: started[k] for k in ("session_id", "resume_token")}
        send_json(ws, {"type": "resume", **resume})
        yield ws


def _words(segments: list[dict[str, Any]]) -> list[str]:
    return [w["text"].rstrip(".").lower() for s in segments for w in s["words"]]


def _cut_resume_and_take_back(a: ServerProcess, b: ServerProcess, token: str) -> int:
    """A recording goes to A, is cut off and resumed on B, then taken back by A while B's
    connection is open; a viewer on B sees every word once. The meeting's id."""
    first, second, third = sentences_pcm(*FIRST), sentences_pcm(*SECOND), sentences_pcm(*THIRD)
    with ExitStack() as sockets:
        on_a = sockets.enter_context(_connect(a, token, "/ws/transcribe"))
        send_json(on_a, {"type": "start", "title": "Across", "sample_rate": 16000})
        started = receive_json(on_a, timeout=30)
        assert started["type"] == "started", started
        meeting_id: int = started["meeting_id"]
        viewer = sockets.enter_context(_connect(b, token, f"/ws/meetings/{meeting_id}/live"))
        so_far = receive_json(viewer, timeout=30)
        assert so_far["type"] == "transcript" and so_far["status"] == "live"
        _send_all(on_a, first)
        _wait_for_ack(on_a, len(first))

        # the viewer on B sees A's words as A transcribes them
        seen: list[dict[str, Any]] = list(so_far["segments"])
        deadline = time.monotonic() + 60
        while len(_words(seen)) < 3:
            assert time.monotonic() < deadline, "no final segment reached the viewer on B"
            event = receive_json(viewer, timeout=30)
            if event["type"] == "final":
                seen.append(event["segment"])

        drop(on_a)  # the network goes away; the browser resumes on B
        with _resume(b, token, started) as on_b:
            resumed = receive_json(on_b, timeout=60)
            assert resumed["type"] == "resumed", resumed
            assert resumed["received_bytes"] == len(first)
            _send_all(on_b, second)
            _wait_for_ack(on_b, len(first) + len(second))

            # the browser resumes on A while its connection to B is still open
            with _resume(a, token, started) as back_on_a:
                resumed = receive_json(back_on_a, timeout=60)
                assert resumed["type"] == "resumed", resumed
                assert resumed["received_bytes"] == len(first) + len(second)
                # B has stopped writing: a late frame on the old connection is not appended
                try:
                    on_b.send(b"\x7f\x7f" * (FRAME // 2))
                except ConnectionClosed:
                    pass
                assert close_code(on_b, expect_error="taken_over") == 4409
                _send_all(back_on_a, third)
                send_json(back_on_a, {"type": "stop"})
                while (stopped := receive_json(back_on_a, timeout=60))["type"] != "stopped":
                    pass

        while True:
            event = receive_json(viewer, timeout=60)
            if event["type"] == "final":
                seen.append(event["segment"])
            if event["type"] == "stopped":
                break

    spoken = words_of(*FIRST, *SECOND, *THIRD)
    assert _words(seen) == spoken, "the viewer on B saw every word once, in order"
    assert stopped["words"] == len(spoken)
    headers = {"Authorization": f"Bearer {token}"}
    meeting_url = f"{b.base_url}/api/meetings/{meeting_id}"
    meeting = httpx.get(meeting_url, headers=headers, timeout=30).json()
    assert meeting["status"] == "completed"
    audio = httpx.get(f"{meeting_url}/audio", headers=headers, timeout=30)
    assert audio.content[44:] == first + second + third  # every acknowledged byte once, in order
    transcript = httpx.get(f"{meeting_url}/transcript", headers=headers, timeout=30).json()
    assert _words(transcript["segments"]) == spoken
    assert [s["seq"] for s in transcript["segments"]] == list(range(len(transcript["segments"])))
    for holder, taker in ((a, b), (b, a)):
        assert "handing it over" in holder.log_text()
        assert "took recording" in taker.log_text()
    return meeting_id


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
