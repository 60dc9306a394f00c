"""The in-process backend (no ``MINA_QUEUE_URL``): jobs run inside the server process.

A bounded number of worker threads (``MINA_JOB_WORKERS``, 0 for none: jobs then wait in the
table), speech decoding submitted to the decode pool the live streams use, so uploads and live
recordings share the CPU fairly. A job queued in the table by any transaction is found there
within a second, so work that must follow a commit (the post-meeting jobs) is queued in it. At
start-up every job still ``queued`` or ``running`` (it died with the server) is enqueued again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.engines.base import SpeechEngine
from mina.jobs.base import JobContext
from mina.jobs.execute import execute_job
from mina.jobs.registry import check_job_name
from mina.live.config import StreamConfig
from mina.settings import Settings
from mina.threads import ServiceThreads

logger = logging.getLogger(__name__)

# How long shutdown waits for a running job to reach a point where it can stop.
STOP_TIMEOUT_S = 30.0
RESUME_RETRY_S = 5.0
# How often the jobs table is read for jobs that a transaction queued.
POLL_S = 1.0


class JobRunner:
    """Runs jobs in this process (see the module docstring): worker threads fed by a queue.

    ``start`` and ``stop`` pair up (an application may be started by several lifespans, as in
    tests); the workers run from the first ``start`` to the last ``stop``.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        load_engine: Callable[[], SpeechEngine],
        decode_pool: Executor,
        settings: Settings,
        stream_config: StreamConfig,
    ) -> None:
        self.sessions = sessions
        self.load_engine = load_engine
        self.decode_pool = decode_pool
        self.settings = settings
        self.stream_config = stream_config
        self.workers = settings.job_workers
        self._lock = threading.Lock()
        self._threads = ServiceThreads("the job runner")
        self._stopping = self._threads.stopping
        self._queue: queue.Queue[tuple[str, dict[str, int]] | None] = queue.Queue()
        self._active: set[int] = set()
        self._known: set[int] = set()  # job ids enqueued here and not finished yet

    def start(self) -> None:
        """Start the workers and enqueue again every job that died with the server."""
        self._threads.start(self._first_start)

    def _first_start(self) -> dict[str, Callable[[], None]]:
        if not self.workers:
            return {}  # jobs wait in the table for a process that runs them
        self._queue = queue.Queue()
        with self._lock:
            self._known = set()
        targets: dict[str, Callable[[], None]] = {
            f"job-{i}": self._work for i in range(self.workers)
        }
        targets["job-watch"] = self._watch_table
        return targets

    def _watch_table(self) -> None:
        """Enqueue the jobs that died with the server, then, every ``POLL_S``, the jobs that
        were queued in the table by a transaction (a recording that completed its meeting
        queues its post-meeting jobs in the same commit). Retried while the database is down."""
        first = True
        while not self._stopping.is_set():
            try:
                with transaction(self.sessions) as session:
                    jobs = (
                        store.list_unfinished_jobs(session)
                        if first
                        else store.list_queued_jobs(session)
                    )
                    found = [(j.name, j.id) for j in jobs]
            except Exception as exc:
                logger.warning("cannot read the jobs table (%s); retrying", exc)
                self._stopping.wait(RESUME_RETRY_S)
                continue
            for name, job_id in found:
                with self._lock:
                    if job_id in self._known:
                        continue
                if first:
                    logger.info(
                        "job %s (%s) did not finish before the server stopped; resuming",
                        job_id,
                        name,
                    )
                self.enqueue(name, job_id=job_id)
            first = False
            self._stopping.wait(POLL_S)

    def enqueue(self, job_name: str, **ids: int) -> None:
        """Run ``job_name`` with these ids soon. Safe from any thread; returns at once.
        ``LookupError`` for an unknown job."""
        check_job_name(job_name)
        if not self.workers:
            return
        job_id = ids.get("job_id")
        if job_id is not None:
            with self._lock:
                self._known.add(job_id)
        self._queue.put((job_name, dict(ids)))

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Server shutdown: running jobs stop at their next check and stay queued.
        Blocking: call it off the event loop."""

        def wake_workers() -> None:
            for _ in range(self.workers):
                self._queue.put(None)

        self._threads.stop(timeout_s, wake=wake_workers)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            name, ids = item
            job_id = ids.get("job_id")
            with self._lock:
                if job_id is not None and job_id in self._active:
                    continue  # enqueued twice: it is running already
                if job_id is not None:
                    self._active.add(job_id)
            try:
                self._run(name, ids)
            except Exception:
                logger.exception("job %s (%s) raised outside its bookkeeping", job_id, name)
            finally:
                with self._lock:
                    self._active.discard(job_id or -1)
                    self._known.discard(job_id or -1)

    def _context(self) -> JobContext:
        return JobContext(
            sessions=self.sessions,
            load_engine=self.load_engine,
            decode_pool=self.decode_pool,
            settings=self.settings,
            stream_config=self.stream_config,
            stopping=self._stopping,
        )

    def _run(self, name: str, ids: dict[str, int]) -> None:
        """One job in a worker thread: claim its row, run it, record how it ended."""
        execute_job(
            self._context(),
            name,
            ids,
            claim=lambda session, job_id: store.claim_job(session, job_id=job_id),
        )
