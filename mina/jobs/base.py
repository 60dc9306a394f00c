"""What every job shares, whichever backend runs it: the context a job function receives, the
errors by which it says how it ended, and the queue protocol the web application holds.

A job is a plain function ``run(context, *, job_id, **ids)`` that opens its own database
sessions from ``context.sessions``; its row in the ``jobs`` table (status, progress, error,
attempts) is the durable record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.engines.base import SpeechEngine
from mina.live.config import StreamConfig
from mina.models import Job, JobStatus, Meeting, MeetingStatus
from mina.settings import Settings

T = TypeVar("T")


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
