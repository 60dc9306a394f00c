"""Background jobs: one entry point, ``enqueue(job_name, **ids)``.

A job is a plain function ``run(context, *, job_id, **ids)`` that opens its own database
sessions from ``context.sessions``; its row in the ``jobs`` table (status, progress, error,
attempts) is the durable record. A job queued in the table by any transaction is found there
within a second, so work that must follow a commit (the post-meeting jobs) is queued in it.

Two backends run them (``JobQueue``). Without ``MINA_QUEUE_URL``, this module's ``JobRunner``
executes jobs inside the server process: a bounded number of worker threads
(``MINA_JOB_WORKERS``, 0 for none: jobs then wait in the table), speech decoding submitted to
the decode pool the live streams use, so uploads and live recordings share the CPU fairly. At
start-up every job still ``queued`` or ``running`` (it died with the server) is enqueued again.
With ``MINA_QUEUE_URL``, ``mina.queue`` sends the jobs to Celery workers (``mina worker``),
which call the same functions through ``execute_job``.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.engines.base import SpeechEngine
from mina.models import Job, JobStatus, Meeting, MeetingStatus
from mina.settings import Settings
from mina.streaming import StreamConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Job functions by name, imported when first run (like the speech engine registry).
BUILTIN_JOBS: dict[str, str] = {
    "transcribe_upload": "mina.uploads:transcribe_upload",
    "encode_playback": "mina.playback:encode_playback",
    "export_user_data": "mina.privacy.export:export_user_data",
    "diarize": "mina.speakers.job:diarize_meeting",
    "insights": "mina.insights.job:generate_insights",
    "embed": "mina.semantic.job:embed_meeting_job",
}
# A job that was running this many times when its server died is not tried again.
MAX_ATTEMPTS = 3
# How long shutdown waits for a running job to reach a point where it can stop.
STOP_TIMEOUT_S = 30.0
RESUME_RETRY_S = 5.0
# How often the jobs table is read for jobs that a transaction queued.
POLL_S = 1.0


class JobError(Exception):
    """A failure to report to the user as is (the job's ``error``)."""


class JobDeferred(Exception):
    """The job must wait for other work (insights wait for the meeting's speaker labels): it is
    queued again, the attempt not counted, and picked up from the table within ``POLL_S``."""


class MeetingGone(Exception):
    """The job's meeting was deleted while the job ran (its files with it): the job ends
    quietly, not as a failure; its row went with the meeting."""


class JobInterrupted(Exception):
    """The server is stopping: the job ends now and runs again at the next start."""


@dataclass(frozen=True)
class JobContext:
    """What a job may use: the database, the process's speech engine (loaded when a job first
    asks for it: a worker that runs no speech job never loads the model) and decode pool."""

    sessions: sessionmaker[Session]
    load_engine: Callable[[], SpeechEngine]
    decode_pool: Executor
    settings: Settings
    stream_config: StreamConfig
    stopping: threading.Event

    @property
    def engine(self) -> SpeechEngine:
        return self.load_engine()

    def check_stop(self) -> None:
        """Raise ``JobInterrupted`` when the server is shutting down."""
        if self.stopping.is_set():
            raise JobInterrupted()

    def decode(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-heavy speech work in the shared decode pool and wait for it."""
        return self.decode_pool.submit(work, *args, **kwargs).result()


def settled_meeting(
    session: Session, *, job_id: int, waits_for: tuple[str, ...] = ()
) -> Meeting | None:
    """The completed meeting a post-meeting job works on: None when it is gone; ``JobError``
    while it is still recorded or transcribed; ``JobDeferred`` while an earlier job of the
    meeting named in ``waits_for`` is unfinished (insights and passages read its speakers)."""
    job = store.load_job(session, job_id=job_id)
    meeting = session.get(Meeting, job.meeting_id) if job and job.meeting_id else None
    if meeting is None:
        return None
    if meeting.status in (MeetingStatus.LIVE, MeetingStatus.PROCESSING):
        raise JobError("The meeting is still being recorded or transcribed.")
    if waits_for:
        waiting = session.scalar(
            select(Job.id).where(
                Job.meeting_id == meeting.id,
                Job.name.in_(waits_for),
                Job.id < job_id,
                Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            )
        )
        if waiting is not None:
            raise JobDeferred(f"waiting for job {waiting}")
    return meeting


class JobFunction(Protocol):
    def __call__(self, context: JobContext, *, job_id: int) -> None: ...


class JobQueue(Protocol):
    """What the web application holds as ``app.state.jobs``, whichever backend runs the jobs."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def enqueue(self, job_name: str, **ids: int) -> None: ...


def check_job_name(name: str) -> None:
    """``LookupError`` naming the known jobs when ``name`` is not one of them."""
    if name not in BUILTIN_JOBS:
        raise LookupError(f"unknown job {name!r}; known jobs: {', '.join(sorted(BUILTIN_JOBS))}")


def resolve_job(name: str) -> JobFunction:
    """The function registered under ``name``; ``LookupError`` if there is none."""
    check_job_name(name)
    target = BUILTIN_JOBS[name]
    module_name, _, attribute = target.partition(":")
    function: JobFunction = getattr(importlib.import_module(module_name), attribute)
    return function


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
        self._starts = 0
        self._stopping = threading.Event()
        self._queue: queue.Queue[tuple[str, dict[str, int]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._active: set[int] = set()
        self._known: set[int] = set()  # job ids enqueued here and not finished yet

    def start(self) -> None:
        """Start the workers and enqueue again every job that died with the server."""
        with self._lock:
            self._starts += 1
            if self._starts > 1 or not self.workers:
                return  # with no workers, jobs wait in the table for a process that runs them
            self._stopping.clear()
            self._queue = queue.Queue()
            self._known = set()
            self._threads = [
                threading.Thread(target=self._work, name=f"job-{i}", daemon=True)
                for i in range(self.workers)
            ]
            self._threads.append(
                threading.Thread(target=self._watch_table, name="job-watch", daemon=True)
            )
            for thread in self._threads:
                thread.start()

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
        with self._lock:
            self._starts -= 1
            if self._starts > 0 or not self.workers:
                return
            self._stopping.set()
            threads, self._threads = self._threads, []
            for _ in range(self.workers):
                self._queue.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("job worker %s did not stop in time", thread.name)

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


def execute_job(
    context: JobContext,
    name: str,
    ids: dict[str, int],
    *,
    claim: Callable[[Session, int], Job | None],
    keep_alive: Callable[[int], AbstractContextManager[object]] = lambda _job_id: nullcontext(),
) -> None:
    """Run one job with its bookkeeping: ``claim`` its row (None: finished, gone or running
    elsewhere: skipped), run it inside ``keep_alive(job_id)``, record how it ended. A job
    without a row (``job_id``) just runs. Shared by the in-process runner and the workers."""
    sessions = context.sessions
    job_id = ids.get("job_id")
    if job_id is None:
        resolve_job(name)(context, **ids)
        return
    with transaction(sessions) as session:
        job = claim(session, job_id)
        attempts = job.attempts if job is not None else 0
    if job is None:
        logger.info("job %s (%s) is finished, gone or running elsewhere; skipped", job_id, name)
        return
    if name not in BUILTIN_JOBS:
        logger.error("job %s has an unknown name %r", job_id, name)
        _fail(sessions, job_id, f"Unknown job {name!r}: this version of Mina cannot run it.")
        return
    if attempts > MAX_ATTEMPTS:
        _fail(
            sessions,
            job_id,
            f"The server stopped {MAX_ATTEMPTS} times while this job ran; it is not tried again.",
        )
        return
    logger.info("job %s (%s) started, attempt %d", job_id, name, attempts)
    try:
        with keep_alive(job_id):
            resolve_job(name)(context, **ids)
    except JobInterrupted:
        with transaction(sessions) as session:
            store.requeue_job(session, job_id=job_id)
        logger.info(
            "job %s (%s) stopped by the shutdown; it resumes at the next start", job_id, name
        )
        return
    except JobDeferred as exc:
        with transaction(sessions) as session:
            store.requeue_job(session, job_id=job_id)
        logger.debug("job %s (%s) deferred: %s", job_id, name, exc)
        return
    except MeetingGone:
        with transaction(sessions) as session:
            store.finish_job(session, job_id=job_id)  # gone with its meeting: nothing to do
        logger.info("job %s (%s) ended: its meeting was deleted", job_id, name)
        return
    except JobError as exc:
        logger.warning("job %s (%s) failed: %s", job_id, name, exc)
        _fail(sessions, job_id, str(exc))
        return
    except Exception:
        logger.exception("job %s (%s) failed", job_id, name)
        _fail(sessions, job_id, "The job failed on the server; the error is in the server log.")
        return
    with transaction(sessions) as session:
        store.finish_job(session, job_id=job_id)
    logger.info("job %s (%s) done", job_id, name)


def _fail(sessions: sessionmaker[Session], job_id: int, error: str) -> None:
    with transaction(sessions) as session:
        store.fail_job(session, job_id=job_id, error=error)
