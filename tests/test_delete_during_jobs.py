"""Deleting a meeting while its post-meeting jobs run (diarize, insights, embed and the playback
copy): every DELETE answers 204, the jobs end or go with their meeting, and nothing of the
meeting is left. The real job functions in the server's job runner (polling the jobs table
quickly, so that they start at once), the real API, SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

import mina.jobs.runner
from mina import store
from mina.db import transaction
from mina.models import (
    Job,
    JobStatus,
    Meeting,
    MeetingInsights,
    Passage,
    RecordingSession,
    Segment,
    Task,
    utcnow,
)
from mina.playback import JOB_NAME as PLAYBACK_JOB
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import PASSWORD, csrf_from, signup
from tests.meetingdata import Said, add_meeting, principal_of

MEETINGS = 10
LINES = [
    "Good morning everyone, let us go through the launch plan for the new release.",
    "Grace will send the updated budget to the finance team by Friday.",
    "We decided to move the public launch to the second week of March.",
    "The onboarding flow still loses a third of new users on the second screen.",
    "Alan will fix the crash in the export dialog before the next build.",
    "Does anyone know whether the legal review of the contract is finished?",
    "Support tickets went down by twenty percent since the last update shipped.",
    "Let us meet again on Thursday to review the marketing copy together.",
]
SAID = [
    Said(LINES[i % len(LINES)], i * 1500, i * 1500 + 1400, f"Speaker {i % 2 + 1}")
    for i in range(12)
]
AUDIO_S = 18.0


def _add_recorded_meeting(
    sessions: sessionmaker[Session], settings: Settings, app: FastAPI | None, index: int
) -> int:
    """A meeting whose recording just stopped: its post-meeting jobs queued in the jobs table
    and (with an ``app``) its playback copy enqueued, as the recorder does."""
    with transaction(sessions) as db:
        meeting = add_meeting(
            db,
            principal=principal_of(db, "ada@example.com"),
            audio_dir=settings.audio_dir,
            title=f"Launch plan {index}",
            started_at=utcnow() - timedelta(seconds=AUDIO_S),
            said=SAID,
            audio_s=AUDIO_S,
        )
        for name in settings.post_meeting_jobs:
            store.queue_meeting_job(db, meeting=meeting, name=name)
        meeting_id = meeting.id
    if app is not None:
        app.state.jobs.enqueue(PLAYBACK_JOB, meeting_id=meeting_id)
    return meeting_id


def _job_states(sessions: sessionmaker[Session], meeting_id: int) -> dict[str, JobStatus]:
    with transaction(sessions) as db:
        rows = db.execute(select(Job.name, Job.status).where(Job.meeting_id == meeting_id))
        return {name: status for name, status in rows}


def _wait_until(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _count(db: Session, column: InstrumentedAttribute[Any], meeting_ids: list[int]) -> int:
    return db.scalar(select(func.count()).where(column.in_(meeting_ids))) or 0


def _started(states: dict[str, JobStatus], index: int) -> bool:
    """Two meetings are deleted once diarization has started; the others once it is done and
    insights or embeddings have started (they wait for it: until then they go back to the
    queue each time they are picked up)."""
    diarize = states.get("diarize")
    if index in (0, MEETINGS - 1):
        return diarize is not JobStatus.QUEUED
    return diarize is JobStatus.DONE and JobStatus.QUEUED not in (
        states.get("insights"),
        states.get("embed"),
    )


def test_a_deletion_waits_for_a_job_writing_the_meeting_and_both_succeed(
    settings: Settings, db_sessions: sessionmaker[Session]
) -> None:
    """The cycle itself, step by step: a job's write transaction has taken its meeting and its
    own row; a deletion starts (and waits); the job goes on writing segments and commits; the
    deletion then goes through. Before the lock order, the deletion deleted the segments and
    waited for the job's row, the job waited for the segments, and PostgreSQL aborted one."""
    with transaction(db_sessions) as db:
        store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    meeting_id = _add_recorded_meeting(db_sessions, settings, None, 0)
    with transaction(db_sessions) as db:
        job_id = db.scalar(
            select(Job.id).where(Job.meeting_id == meeting_id, Job.name == "insights")
        )
        assert job_id is not None and store.claim_job(db, job_id=job_id) is not None
        segment_ids = list(db.scalars(select(Segment.id).where(Segment.meeting_id == meeting_id)))

    job = db_sessions()  # the insights job's write transaction, in its order
    try:
        assert store.lock_meeting(job, meeting_id=meeting_id) is not None
        assert store.update_job(job, job_id=job_id, progress=0.9)
        failures: list[BaseException] = []

        def delete() -> None:
            try:
                with transaction(db_sessions) as db:
                    meeting = db.get(Meeting, meeting_id)
                    assert meeting is not None
                    store.delete_meeting(db, meeting=meeting)
            except BaseException as exc:
                failures.append(exc)

        deletion = threading.Thread(target=delete)
        deletion.start()
        deletion.join(0.5)
        assert deletion.is_alive(), "the deletion waits for the job's transaction"
        store.save_insights(
            job,
            meeting_id=meeting_id,
            provider="local",
            model="test",
            data={"summary": []},
            sentiment=0.5,
            segment_sentiment={sid: 0.5 for sid in segment_ids},
        )
        job.commit()
    finally:
        job.close()
    deletion.join(30)
    assert not deletion.is_alive() and failures == []
    with transaction(db_sessions) as db:
        assert _count(db, Segment.meeting_id, [meeting_id]) == 0
        assert _count(db, Job.meeting_id, [meeting_id]) == 0
        assert _count(db, MeetingInsights.meeting_id, [meeting_id]) == 0


def test_meetings_deleted_while_their_jobs_run_go_whole(
    settings: Settings,
    db_sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mina")
    monkeypatch.setattr(mina.jobs.runner, "POLL_S", 0.02)
    app = create_app(settings.model_copy(update={"job_workers": 4}))
    deleted: list[int] = []
    raced = 0
    with TestClient(app) as client:
        signup(client, "ada@example.com", "Ada Lovelace")
        csrf = {"X-CSRF-Token": csrf_from(client.get("/settings").text)}
        # the next meeting is made before one is deleted: SQLite gives a new row the highest id
        # plus one, and the ids of a deleted meeting and its jobs must not come back
        following = _add_recorded_meeting(db_sessions, settings, app, 0)
        for index in range(MEETINGS):
            meeting_id = following
            following = _add_recorded_meeting(db_sessions, settings, app, index + 1)
            _wait_until(lambda: _started(_job_states(db_sessions, meeting_id), index))  # noqa: B023
            time.sleep(0.03 * index)  # from 0 to 0.27 s: into their write transactions
            raced += JobStatus.RUNNING in _job_states(db_sessions, meeting_id).values()
            response = client.delete(f"/api/meetings/{meeting_id}", headers=csrf)
            assert response.status_code == 204, (index, response.text)
            assert client.get(f"/api/meetings/{meeting_id}").status_code == 404
            deleted.append(meeting_id)

        # a meeting nobody deletes gets its speakers, insights and passages: the jobs work
        kept = following
        _wait_until(lambda: set(_job_states(db_sessions, kept).values()) == {JobStatus.DONE})
    # the server has stopped: its job threads have ended, nothing more is written

    assert raced >= MEETINGS // 2, f"only {raced} deletions met a running job"
    with transaction(db_sessions) as db:
        for column in (
            Meeting.id,
            RecordingSession.meeting_id,
            Segment.meeting_id,
            Passage.meeting_id,
            MeetingInsights.meeting_id,
            Task.meeting_id,
            Job.meeting_id,
        ):
            assert _count(db, column, deleted) == 0, column
        assert db.scalar(select(func.count()).where(Job.status == JobStatus.RUNNING)) == 0
        assert _count(db, Passage.meeting_id, [kept]) > 0
        assert _count(db, MeetingInsights.meeting_id, [kept]) == 1
        kept_audio = {Path(p) for p in db.scalars(select(RecordingSession.audio_path)) if p}
    left = [
        p
        for p in settings.audio_dir.rglob("*")
        if p.is_file() and p not in kept_audio and not p.name.startswith(f"meeting-{kept}-")
    ]
    assert left == [], "audio of deleted meetings is left"
    troubles = [
        r for r in caplog.records if r.name.startswith("mina") and r.levelno >= logging.WARNING
    ]
    assert not troubles, [r.getMessage() for r in troubles]
