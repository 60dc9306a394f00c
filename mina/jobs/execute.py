"""One job with its bookkeeping, shared by the in-process runner and the Celery workers: claim
its row, run its function, record how it ended (done, failed, deferred, interrupted)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.jobs.base import JobContext, JobDeferred, JobError, JobInterrupted, MeetingGone
from mina.jobs.registry import BUILTIN_JOBS, resolve_job
from mina.models import Job

logger = logging.getLogger(__name__)

# A job that was running this many times when its server died is not tried again.
MAX_ATTEMPTS = 3


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
