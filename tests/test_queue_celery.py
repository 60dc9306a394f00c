"""Jobs on Celery workers (``MINA_QUEUE_URL``): a real Redis, real ``mina worker`` processes, a
web app running no jobs itself (``MINA_JOB_WORKERS=0``), on SQLite and PostgreSQL.

Workers run the fake engine where the words do not matter (it is fast and exact) and the real
tiny.en model where they do (an upload of real speech). A worker killed mid-job, with two web
processes beside it: test_multi_process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from bench.server import ServerProcess, free_port
from mina import store
from mina.cli import main
from mina.jobs.broker import check_broker, create_celery, queue_for
from mina.jobs.dispatcher import CeleryDispatcher
from mina.jobs.runner import JobRunner
from mina.models import Job, JobStatus, Meeting, utcnow
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import TEST_SECRET, signup
from tests.livehelp import sentences_pcm, words_of
from tests.uploadhelp import csrf_header, upload, wait_job, write_wav
from tests.workerhelp import (
    MINA,
    read_job,
    wait_for,
    worker,
    worker_env,
)

SPEECH = Path(__file__).parent / "data" / "speech"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
SENTENCES = ([1, 2, 3], [4, 5], [6, 7, 8])
# short liveness timers: a dead worker's job is sent again about 2 s after its last beat
QUICK = {"heartbeat_s": 0.5, "stale_after_s": 2.0}


def queue_settings(settings: Settings, queue_url: str, **changes: Any) -> Settings:
    """The test settings sending jobs to ``queue_url``, running none in the web process, with
    no post-meeting work (each test asks for what it needs)."""
    update_ = {
        "queue_url": queue_url,
        "job_workers": 0,
        "diarization": False,
        "insights": "off",
        "semantic_search": False,
        **QUICK,
        **changes,
    }
    return settings.model_copy(update=update_)


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    """A fake-engine recording: three sentences of bursts."""
    return write_wav(tmp_path / "standup.wav", sentences_pcm(*SENTENCES))


def test_an_upload_of_real_speech_is_transcribed_by_a_worker(
    settings: Settings, backend: str, redis_queue: str, tmp_path: Path, db_sessions: Any
) -> None:
    """A real ``mina serve`` that runs no jobs (``MINA_JOB_WORKERS=0``) and a real worker with
    tiny.en, as a deployment runs them."""
    if backend == "postgresql":
        pytest.skip("PostgreSQL: test_multi_process, with two web processes and a worker killed")
    qs = queue_settings(settings, redis_queue, engine="whisper", vad="silero")
    env = worker_env(qs)
    env["MINA_JOB_WORKERS"] = "0"
    del env["MINA_DATA_DIR"], env["MINA_LOG_LEVEL"]  # ServerProcess sets them
    server = ServerProcess(
        qs.data_dir, settings=env, inherit_settings=False, log_path=tmp_path / "server.log"
    )
    server.start()
    try:
        with (
            httpx.Client(base_url=server.base_url, timeout=30) as client,
            worker(worker_env(qs), tmp_path / "worker.log"),
        ):
            signup(client, "ada@example.com")
            response = upload(client, SPEECH / "jfk.wav", title="Inaugural")
            assert response.status_code == 202, response.text
            started = response.json()
            job, _ = wait_job(client, started["job_id"], timeout_s=120, poll_s=0.2)
            assert job["status"] == "done", (job, (tmp_path / "worker.log").read_text()[-3000:])
            meeting_id = started["meeting_id"]
            segments = client.get(f"/api/meetings/{meeting_id}/transcript").json()["segments"]
            text = re.sub(r"[^a-z ]", "", " ".join(s["text"] for s in segments).lower())
            assert "ask not what your country can do for you" in text
            assert client.get(f"/api/meetings/{meeting_id}").json()["status"] == "completed"
    finally:
        server.stop()
    stored = read_job(db_sessions, started["job_id"])
    assert stored.attempts == 1 and stored.sent_at is not None
    log = (tmp_path / "worker.log").read_text()
    assert f"job {started['job_id']} (transcribe_upload) done" in log
    assert "(transcribe_upload) started" not in server.log_text()  # the server ran no job


def test_queues_route_jobs_and_unknown_or_lost_jobs_are_handled(
    settings: Settings, redis_queue: str, tmp_path: Path, speech_wav: Path, db: Session
) -> None:
    qs = queue_settings(settings, redis_queue)
    app = create_app(qs)
    log = tmp_path / "worker.log"
    with TestClient(app) as client, worker(worker_env(qs), log, "default"):
        signup(client, "ada@example.com")
        # the default worker makes data exports ...
        export = client.post("/api/me/export", headers=csrf_header(client))
        assert export.status_code == 202, export.text
        job, _ = wait_job(client, export.json()["job_id"], timeout_s=60, poll_s=0.1)
        assert job["status"] == "done", log.read_text()[-3000:]
        # ... but never takes a speech job: the upload is sent, and waits on the speech queue
        started = upload(client, speech_wav).json()
        time.sleep(3)
        waiting = read_job(app.state.sessions, started["job_id"])
        assert waiting.status is JobStatus.QUEUED and waiting.attempts == 0
        assert waiting.sent_at is not None and queue_for(waiting.name) == "speech"

        # a job of a name no worker knows, queued in the table by a transaction, fails clearly
        meeting = db.get(Meeting, started["meeting_id"])
        assert meeting is not None
        odd = store.queue_meeting_job(db, meeting=meeting, name="reticulate_splines")
        db.commit()
        wait_for(
            lambda: read_job(app.state.sessions, odd.id).status is JobStatus.FAILED,
            30,
            "the unknown job failed",
        )
        assert "Unknown job 'reticulate_splines'" in (
            read_job(app.state.sessions, odd.id).error or ""
        )
        # enqueue refuses an unknown name at once, naming the known ones
        with pytest.raises(LookupError, match="unknown job 'nope'; known jobs: diarize"):
            app.state.jobs.enqueue("nope", job_id=1)

        # the broker loses the upload's message (flushed): it is sent again once overdue
        redis.Redis.from_url(redis_queue).flushdb()
        db.execute(
            update(Job)
            .where(Job.id == started["job_id"])
            .values(sent_at=utcnow() - timedelta(hours=1))
        )
        db.commit()
        with worker(worker_env(qs), tmp_path / "speech.log", "speech"):
            job, _ = wait_job(client, started["job_id"], timeout_s=60, poll_s=0.1)
        assert job["status"] == "done", (tmp_path / "speech.log").read_text()[-3000:]
        done = read_job(app.state.sessions, started["job_id"])
        assert done.attempts == 1  # sent twice, run once
    # the default worker never loaded a speech engine
    assert "speech engine" not in log.read_text()


def test_periodic_work_is_done_by_one_process_at_a_time(
    settings: Settings, database_url: str
) -> None:
    """Two processes race for a lease: one wins every round; the loser takes over once the
    winner lets go; and two web apps on one database share the periodic work out."""
    script = (
        "import sys, time\n"
        "from mina.db import create_db_engine, create_session_factory, transaction\n"
        "from mina import store\n"
        "sessions = create_session_factory(create_db_engine(sys.argv[1]))\n"
        "start = float(sys.argv[3])\n"
        "while time.time() < start: time.sleep(0.001)\n"
        "won = 0\n"
        "for _ in range(40):\n"
        "    with transaction(sessions) as s:\n"
        "        won += store.take_lease(s, name='race', holder=sys.argv[2], ttl_s=60)\n"
        "print(won)\n"
    )
    start = str(time.time() + 2.0)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, holder, start],
            stdout=subprocess.PIPE,
            text=True,
        )
        for holder in ("a", "b")
    ]
    wins = sorted(int(p.communicate(timeout=60)[0]) for p in racers)
    assert wins == [0, 40]

    first, second = create_app(settings), create_app(settings)
    with TestClient(first), TestClient(second):
        held = [app.state.leases["recovery"].held() for app in (first, second)]
        assert sorted(held) == [False, True]
        holder, other = (first, second) if held[0] else (second, first)
        for name in ("housekeeping", "webhooks"):
            assert holder.state.leases[name].held() != other.state.leases[name].held()
    # both stopped and released theirs: a new process takes every lease at once
    third = create_app(settings)
    with TestClient(third):
        assert all(lease.held() for lease in third.state.leases.values())


def test_an_unreachable_queue_stops_serve_and_worker_at_start_with_a_clear_error(
    tmp_path: Path,
) -> None:
    """Checked before the database is opened: once, whatever the database."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINA_")},
        "MINA_DATA_DIR": str(tmp_path / "data"),
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_QUEUE_URL": f"redis://:hunter2@127.0.0.1:{port}/0",
    }
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        began = time.monotonic()
        result = subprocess.run(
            [MINA, *command], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode != 0
        assert f"cannot reach the job queue at redis://:**@127.0.0.1:{port}/0" in result.stderr
        assert "hunter2" not in result.stderr
        # at once, not retrying forever: a few seconds, plus Python's start on a busy machine
        assert time.monotonic() - began < 60
    runner = CliRunner()
    bad = runner.invoke(main, ["worker"], env={**env, "MINA_QUEUE_URL": "http://127.0.0.1:6379"})
    assert bad.exit_code != 0 and "not a broker Mina supports" in bad.output
    unset = runner.invoke(main, ["worker"], env={**env, "MINA_QUEUE_URL": ""})
    assert unset.exit_code != 0 and "mina worker needs MINA_QUEUE_URL" in unset.output
    wrong = runner.invoke(main, ["worker", "--queues", "speech,fast"], env=env)
    assert wrong.exit_code == 2 and "fast: choose among speech, default" in wrong.output
    with pytest.raises(ConnectionError, match="cannot reach the job queue"):
        check_broker(create_celery(Settings(queue_url=f"redis://127.0.0.1:{port}/0")), timeout_s=1)


@pytest.fixture
def redis_later(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A Redis URL on a port where nothing listens yet, and a function starting a Redis there."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(
            subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
            )
        )
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_for(lambda: _pings(client), 10, "the new Redis answers")
        client.close()

    try:
        yield f"redis://127.0.0.1:{port}/0", start
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_jobs_wait_while_the_broker_is_down_and_run_once_it_is_back(
    settings: Settings, redis_later: tuple[str, Any], tmp_path: Path, speech_wav: Path
) -> None:
    url, start_redis = redis_later
    qs = queue_settings(settings, url)
    app = create_app(qs)
    with TestClient(app) as client:
        signup(client, "ada@example.com")
        response = upload(client, speech_wav)
        assert response.status_code == 202, response.text  # accepted, nothing lost
        job_id = response.json()["job_id"]
        time.sleep(2)
        waiting = read_job(app.state.sessions, job_id)
        assert waiting.status is JobStatus.QUEUED and waiting.sent_at is None
        start_redis()
        with worker(worker_env(qs), tmp_path / "worker.log"):
            job, _ = wait_job(client, job_id, timeout_s=60, poll_s=0.1)
        assert job["status"] == "done", (tmp_path / "worker.log").read_text()[-3000:]
        segments = client.get(f"/api/meetings/{job['meeting_id']}/transcript").json()
        said = [w["text"].rstrip(".").lower() for s in segments["segments"] for w in s["words"]]
        assert said == words_of(*SENTENCES)


def test_an_upload_goes_through_rabbitmq(
    settings: Settings, backend: str, tmp_path: Path, speech_wav: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("RabbitMQ is tried once, with PostgreSQL")
    probe = create_celery(Settings(queue_url=RABBITMQ_URL))
    try:
        check_broker(probe, timeout_s=2)
    except ConnectionError:
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    with probe.connection_for_write() as connection:
        for name in ("speech", "default"):  # a message left by an earlier run
            channel = connection.channel()
            try:
                channel.queue_purge(name)
            except Exception:
                pass  # the queue does not exist yet
            finally:
                channel.close()
    qs = queue_settings(settings, RABBITMQ_URL)
    app = create_app(qs)
    with TestClient(app) as client, worker(worker_env(qs), tmp_path / "worker.log"):
        signup(client, "ada@example.com")
        started = upload(client, speech_wav).json()
        job, _ = wait_job(client, started["job_id"], timeout_s=60, poll_s=0.1)
        assert job["status"] == "done", (tmp_path / "worker.log").read_text()[-3000:]


def test_the_in_process_runner_with_no_workers_leaves_jobs_in_the_table(
    settings: Settings, speech_wav: Path, db_sessions: Any
) -> None:
    app = create_app(settings.model_copy(update={"job_workers": 0}))
    assert isinstance(app.state.jobs, JobRunner)
    with TestClient(app) as client:
        signup(client, "ada@example.com")
        job_id = upload(client, speech_wav).json()["job_id"]
        time.sleep(1.5)
        assert read_job(db_sessions, job_id).status is JobStatus.QUEUED
        with pytest.raises(LookupError, match="unknown job"):
            app.state.jobs.enqueue("nope", job_id=job_id)
    # a server with a worker thread picks it up
    with TestClient(create_app(settings)) as client:
        wait_for(
            lambda: read_job(db_sessions, job_id).status is JobStatus.DONE,
            30,
            "the job done by the next server",
        )
    other = create_app(queue_settings(settings, "redis://127.0.0.1:1/0"))
    assert isinstance(other.state.jobs, CeleryDispatcher)
    other.state.engine.dispose()
