"""``mina worker``'s side of the Celery queue: each worker process runs the jobs delivered to
it with the same job functions and bookkeeping as the in-process runner
(``mina.jobs.execute.execute_job``).

Each process builds its own database engine, decode pool and speech engine when its first job
needs them (after the fork: nothing is shared between processes), so a worker that only runs
``default`` jobs never loads the speech model. While a job runs, a thread beats its row every
``MINA_HEARTBEAT_S``; a row whose worker stopped beating is claimed again by the next delivery.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mina import store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.engines import load_engine
from mina.jobs.base import JobContext
from mina.jobs.broker import create_celery
from mina.jobs.execute import execute_job
from mina.live.config import StreamConfig
from mina.models import Job, utcnow
from mina.settings import Settings

logger = logging.getLogger(__name__)


class WorkerJobs:
    """Runs delivered jobs in one worker process; its resources are made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._context: JobContext | None = None
        self._db: Engine | None = None

    def context(self) -> JobContext:
        with self._lock:
            if self._context is None:
                settings = self.settings
                self._db = create_db_engine(settings.sqlalchemy_url)
                self._context = JobContext(
                    sessions=create_session_factory(self._db),
                    load_engine=functools.partial(
                        load_engine, settings.engine, **settings.server_engine_options()
                    ),
                    decode_pool=ThreadPoolExecutor(
                        settings.decode_workers, thread_name_prefix="decode"
                    ),
                    settings=settings,
                    stream_config=StreamConfig(vad=settings.vad),
                    stopping=threading.Event(),
                )
            return self._context

    def close(self) -> None:
        """Release the database and the decode pool (a worker process exiting needs not)."""
        with self._lock:
            if self._context is not None:
                self._context.decode_pool.shutdown(wait=True)
            if self._db is not None:
                self._db.dispose()
            self._context = self._db = None

    def run(self, job_name: str, ids: dict[str, int]) -> None:
        """One delivery: claim the job's row, run it, record how it ended."""
        context = self.context()
        stale_after = timedelta(seconds=self.settings.stale_after_s)

        def claim(session: Session, job_id: int) -> Job | None:
            return store.claim_job_delivery(
                session, job_id=job_id, stale_before=utcnow() - stale_after
            )

        try:
            execute_job(context, job_name, ids, claim=claim, keep_alive=self._beating)
        except Exception:  # a job without a row (the playback copy): its failure is only logged
            logger.exception("job %s (%s) failed", ids, job_name)

    @contextmanager
    def _beating(self, job_id: int) -> Iterator[None]:
        """Beat the job's row every ``MINA_HEARTBEAT_S`` while the block runs."""
        done = threading.Event()
        sessions = self.context().sessions

        def beat() -> None:
            while not done.wait(self.settings.heartbeat_s):
                try:
                    with transaction(sessions) as session:
                        store.beat_job(session, job_id=job_id)
                except Exception as exc:
                    logger.warning("cannot beat job %s (%s)", job_id, exc)

        thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def run_worker(settings: Settings, *, concurrency: int, queues: list[str]) -> int:
    """Run a Celery worker until it is stopped (SIGTERM: it finishes its jobs first); returns
    its exit code."""
    jobs = WorkerJobs(settings)
    app = create_celery(settings, run_job=jobs.run)
    worker = app.Worker(
        concurrency=concurrency,
        queues=queues,
        hostname=f"mina-{os.getpid()}@{socket.gethostname()}",
        loglevel=settings.log_level,
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    worker.start()
    return int(worker.exitcode or 0)
