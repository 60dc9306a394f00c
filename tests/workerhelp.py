"""Real ``mina worker`` processes for the tests of jobs on a queue: their settings, start,
SIGKILL, stop; reading and waiting for a job's row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mina.models import Job
from mina.settings import Settings
from tests.conftest import TEST_SECRET

MINA = str(Path(sys.executable).with_name("mina"))


def worker_env(settings: Settings) -> dict[str, str]:
    """The ``MINA_*`` settings of a ``mina worker`` with the same settings as the web app."""
    return {
        "MINA_DATA_DIR": str(settings.data_dir),
        "MINA_DATABASE_URL": settings.database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_QUEUE_URL": settings.queue_url,
        "MINA_ENGINE": settings.engine,
        "MINA_VAD": settings.vad,
        "MINA_HEARTBEAT_S": str(settings.heartbeat_s),
        "MINA_STALE_AFTER_S": str(settings.stale_after_s),
        "MINA_DIARIZATION": str(settings.diarization).lower(),
        "MINA_INSIGHTS": settings.insights,
        "MINA_SEMANTIC_SEARCH": str(settings.semantic_search).lower(),
        "MINA_DECODE_WORKERS": "1",
        "MINA_LOG_LEVEL": "INFO",
    }


@contextmanager
def worker(
    settings: Mapping[str, str], log: Path, *queues: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``mina worker`` process with these ``MINA_*`` settings and no others from the
    environment (its own process group: killing the group kills its pool)."""
    args = [MINA, "worker", "--queues", ",".join(queues)] if queues else [MINA, "worker"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINA_")}
    env.update(settings)
    with log.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool, as when its machine dies."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def read_job(sessions: Any, job_id: int) -> Job:
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout_s} s"
        time.sleep(0.1)
