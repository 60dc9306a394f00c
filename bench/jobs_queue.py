"""Time from an upload to its job done: in the server process, and on a Celery worker (Redis).

A real ``mina serve`` (SQLite, the fake engine, no post-meeting jobs) takes ``--uploads`` small
uploads one after another through the API; each is polled until its job is done. Once with the
in-process runner, once with ``MINA_QUEUE_URL`` on the Redis at 127.0.0.1:6379 (a random
database, flushed after), ``MINA_JOB_WORKERS=0`` and one ``mina worker``: the difference is what
the queue costs a job (the dispatcher's send, the broker, the worker's claim and heartbeat).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx
import numpy as np
import redis

from bench.server import ServerProcess
from bench.stats import emit, summary_ms

PASSWORD = "benchmark password"


def _bursts_wav() -> bytes:
    """Three tone bursts the fake engine hears as three words."""
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(0.3 * rate)) / rate) * 32767).astype(
        np.int16
    )
    gap = np.zeros(int(0.2 * rate), dtype=np.int16)
    pcm = np.concatenate([gap, tone, gap, tone, gap, tone, gap]).tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm)
    return out.getvalue()


def _measure(server: ServerProcess, uploads: int) -> list[float]:
    token = server.create_token("bench@example.com", PASSWORD)
    body = _bursts_wav()
    took = []
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for i in range(uploads + 1):  # the first one warms up (the worker's first job)
            started = time.perf_counter()
            answer = client.post(
                "/api/transcriptions", files={"file": ("standup.wav", body, "audio/wav")}
            )
            answer.raise_for_status()
            job_id = answer.json()["job_id"]
            while True:
                job = client.get(f"/api/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.01)
            if job["status"] != "done":
                raise RuntimeError(f"job {job_id} failed: {job['error']}")
            if i:
                took.append(time.perf_counter() - started)
    return took


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench jobs_queue")
    parser.add_argument("--uploads", type=int, default=20)
    args = parser.parse_args(argv or [])
    settings = {
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
        "MINA_SEMANTIC_SEARCH": "false",
    }
    db = random.SystemRandom().randint(1, 15)
    queue_url = f"redis://127.0.0.1:6379/{db}"
    with tempfile.TemporaryDirectory(prefix="mina-bench-queue-") as scratch:
        for label, extra in (
            ("in the server process", {}),
            ("on a Celery worker (Redis)", {"MINA_QUEUE_URL": queue_url, "MINA_JOB_WORKERS": "0"}),
        ):
            data_dir = Path(scratch) / label.split()[-1].strip("()").lower()
            server = ServerProcess(
                data_dir,
                log_level="WARNING",
                settings={**settings, **extra},
                inherit_settings=False,
            )
            server.start()
            worker = None
            try:
                if extra:
                    worker = subprocess.Popen(
                        [sys.executable, "-m", "mina", "worker"],
                        env=server.env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                emit(f"upload to job done, {label}: {summary_ms(_measure(server, args.uploads))}")
            finally:
                if worker is not None:
                    os.killpg(worker.pid, signal.SIGTERM)
                    worker.wait(30)
                server.stop()
    redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
