"""The jobs table as the queue's record, without a broker: a row is sent by one process, sent
again when its message may be lost, claimed by one delivery at a time, and fails after
MAX_ATTEMPTS deliveries; leases expire and pass to another holder. Both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.jobs.execute import MAX_ATTEMPTS
from mina.jobs.leases import Lease as PeriodicLease
from mina.jobs.worker import WorkerJobs
from mina.models import Job, JobStatus, Lease, utcnow
from mina.settings import Settings


def make_job(db: Session, name: str = "export_user_data") -> int:
    user = store.create_user(db, email="ada@example.com", password="correct horse battery")
    principal = store.get_principal(db, user=user)
    job = store.create_job(
        db, workspace_id=principal.workspace.id, name=name, payload={"user_id": user.id}
    )
    db.commit()
    return job.id


def cutoffs(*, resend_after_s: float = 600, stale_after_s: float = 30) -> dict[str, Any]:
    now = utcnow()
    return {
        "resend_before": now - timedelta(seconds=resend_after_s),
        "stale_before": now - timedelta(seconds=stale_after_s),
    }


def test_a_row_is_sent_once_and_again_only_when_its_message_may_be_lost(db: Session) -> None:
    job_id = make_job(db)
    assert store.list_jobs_to_send(db, **cutoffs()) == [(job_id, "export_user_data")]
    assert store.mark_job_sent(db, job_id=job_id, **cutoffs())
    assert not store.mark_job_sent(db, job_id=job_id, **cutoffs())  # a second process
    db.commit()
    assert store.list_jobs_to_send(db, **cutoffs()) == []
    # never claimed 10 minutes after it was sent: its message was lost
    assert store.list_jobs_to_send(db, **cutoffs(resend_after_s=-1)) == [
        (job_id, "export_user_data")
    ]
    # a worker claims it and beats: not sent again while it beats
    claimed = store.claim_job_delivery(db, job_id=job_id, stale_before=utcnow())
    assert claimed is not None and claimed.attempts == 1 and claimed.status is JobStatus.RUNNING
    db.commit()
    assert store.list_jobs_to_send(db, **cutoffs(resend_after_s=-1)) == []
    # a duplicate delivery while the worker lives is skipped
    assert store.claim_job_delivery(db, job_id=job_id, stale_before=utcnow() - timedelta(1)) is None
    # its worker stops beating: sent again, and the next delivery claims it
    assert store.list_jobs_to_send(db, **cutoffs(stale_after_s=-1)) == [
        (job_id, "export_user_data")
    ]
    again = store.claim_job_delivery(db, job_id=job_id, stale_before=utcnow() + timedelta(1))
    assert again is not None and again.attempts == 2
    store.finish_job(db, job_id=job_id)
    db.commit()
    assert store.list_jobs_to_send(db, **cutoffs(resend_after_s=-1, stale_after_s=-1)) == []
    assert store.claim_job_delivery(db, job_id=job_id, stale_before=utcnow()) is None


def test_a_worker_fails_a_job_delivered_more_than_max_attempts_times(
    settings: Settings, db: Session
) -> None:
    job_id = make_job(db)
    db.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=JobStatus.RUNNING, attempts=MAX_ATTEMPTS, heartbeat_at=None)
    )
    db.commit()
    jobs = WorkerJobs(settings)
    try:
        jobs.run("export_user_data", {"job_id": job_id})
    finally:
        jobs.close()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.attempts == MAX_ATTEMPTS + 1
    assert "not tried again" in (job.error or "")


def test_a_worker_runs_a_job_and_beats_its_row(settings: Settings, db: Session) -> None:
    job_id = make_job(db)
    jobs = WorkerJobs(settings)
    try:
        jobs.run("export_user_data", {"job_id": job_id})
    finally:
        jobs.close()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None and job.status is JobStatus.DONE, job.error
    assert job.attempts == 1 and job.heartbeat_at is not None


def test_a_lease_passes_to_another_holder_when_released_or_expired(
    db_sessions: sessionmaker[Session], db: Session
) -> None:
    first = PeriodicLease(db_sessions, "recovery", ttl_s=30, holder="a")
    second = PeriodicLease(db_sessions, "recovery", ttl_s=30, holder="b")
    assert first.held() and not second.held()
    first.release()
    second._retry_at = 0  # don't wait out its back-off
    assert second.held() and not PeriodicLease(db_sessions, "recovery", ttl_s=30).held()
    # the holder dies: its lease expires and another takes it over
    db.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    third = PeriodicLease(db_sessions, "recovery", ttl_s=30, holder="c")
    assert third.held()
    assert db.get(Lease, "recovery").holder == "c"  # type: ignore[union-attr]


def test_the_web_app_holds_every_lease_alone(client: Any) -> None:
    """The default single server does all the periodic work, as before the leases."""
    leases = client.app.state.leases
    assert set(leases) == {"recovery", "housekeeping", "webhooks"}
    assert all(lease.held() for lease in leases.values())
