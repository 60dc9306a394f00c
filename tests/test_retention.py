"""The retention period, on SQLite and PostgreSQL: meetings that ended more than
``MINA_RETENTION_DAYS`` ago are deleted with their segments, audio files and playback copies;
younger ones, live and processing ones (whatever their age), users, workspaces and tokens stay.
The server applies it at start-up; ``mina retention [--dry-run]`` by hand."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.cli import main
from mina.models import (
    ApiToken,
    Meeting,
    MeetingStatus,
    RecordingSession,
    Segment,
    User,
    Workspace,
    utcnow,
)
from mina.playback import ensure_playback, meeting_audio
from mina.privacy.retention import apply_retention
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting

DAYS = 30


def make_meeting(
    db: Session, settings: Settings, email: str, *, age_days: float, title: str, **kwargs: Any
) -> int:
    user = store.get_user_by_email(db, email=email)
    if user is None:
        user = store.create_user(db, email=email, password=PASSWORD)
    return add_meeting(
        db,
        principal=store.get_principal(db, user=user),
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow() - timedelta(days=age_days),
        said=[Said(f"{title} begins.", 0, 1000), Said("And ends.", 1000, 2000)],
        audio_s=2.0,
        **kwargs,
    ).id


@pytest.fixture
def meetings(db: Session, settings: Settings) -> dict[str, int]:
    """Meetings of two workspaces at various ages; the old completed one has a playback copy."""
    made = {
        "old": make_meeting(db, settings, "ada@example.com", age_days=45, title="Old review"),
        "old_failed": make_meeting(
            db, settings, "grace@example.com", age_days=31, title="Old failed upload"
        ),
        "young": make_meeting(db, settings, "ada@example.com", age_days=29, title="Recent"),
        "old_live": make_meeting(
            db, settings, "ada@example.com", age_days=40, title="Very long", live=True
        ),
        "old_processing": make_meeting(
            db, settings, "grace@example.com", age_days=60, title="Slow upload"
        ),
    }
    for key, status in (("old_failed", MeetingStatus.FAILED), ("old_processing", None)):
        meeting = db.get(Meeting, made[key])
        assert meeting is not None
        if status is None:
            meeting.status, meeting.actual_end = MeetingStatus.PROCESSING, None
        else:
            meeting.status = status
    db.commit()
    audio = meeting_audio(made["old"], store.list_recordings(db, meeting_id=made["old"]))
    assert audio is not None
    ensure_playback(audio)
    return made


def audio_of(db: Session, meeting_id: int) -> list[Path]:
    pcm = [
        Path(p)
        for p in db.scalars(
            select(RecordingSession.audio_path).where(RecordingSession.meeting_id == meeting_id)
        )
    ]
    return pcm + [c for p in pcm for c in p.parent.glob(f"meeting-{meeting_id}-*.opus")]


def test_old_meetings_go_with_their_audio_and_the_rest_stays(
    db: Session, db_sessions: sessionmaker[Session], meetings: dict[str, int]
) -> None:
    doomed = {k: audio_of(db, meetings[k]) for k in ("old", "old_failed")}
    kept = {k: audio_of(db, meetings[k]) for k in ("young", "old_live", "old_processing")}
    assert len(doomed["old"]) == 2, "the PCM file and its playback copy"
    users, tokens = _count(db, User), _count(db, ApiToken)

    preview = apply_retention(db_sessions, days=DAYS, dry_run=True)
    assert preview.dry_run and preview.meetings == 2
    assert _count(db, Meeting) == 5 and all(p.exists() for ps in doomed.values() for p in ps)

    report = apply_retention(db_sessions, days=DAYS)

    assert (report.meetings, report.audio_files) == (2, 3)
    db.expire_all()
    left = set(db.scalars(select(Meeting.id)))
    assert left == {meetings[k] for k in kept}
    assert not any(p.exists() for ps in doomed.values() for p in ps)
    assert all(p.exists() for ps in kept.values() for p in ps)
    gone = [meetings["old"], meetings["old_failed"]]
    assert _count(db, Segment, Segment.meeting_id.in_(gone)) == 0
    assert _count(db, RecordingSession, RecordingSession.meeting_id.in_(gone)) == 0
    assert _count(db, Segment) == 6
    assert (_count(db, User), _count(db, ApiToken), _count(db, Workspace)) == (users, tokens, 2)
    # nothing more is old enough
    assert apply_retention(db_sessions, days=DAYS).meetings == 0


def test_a_large_archive_is_deleted_in_batches(
    db: Session, db_sessions: sessionmaker[Session], settings: Settings
) -> None:
    from mina.privacy import retention

    old = [
        make_meeting(db, settings, "ada@example.com", age_days=90 + i, title=f"Old {i}")
        for i in range(5)
    ]
    files = [p for m in old for p in audio_of(db, m)]
    batch, retention.BATCH = retention.BATCH, 2
    try:
        assert apply_retention(db_sessions, days=DAYS).meetings == 5
    finally:
        retention.BATCH = batch
    assert _count(db, Meeting) == 0 and not any(p.exists() for p in files)


def test_the_server_applies_retention_at_start_up(
    db: Session, settings: Settings, meetings: dict[str, int]
) -> None:
    app = create_app(settings.model_copy(update={"retention_days": DAYS}))
    with TestClient(app):
        deadline = time.monotonic() + 20
        while _count(db, Meeting) > 3:
            assert time.monotonic() < deadline, "retention did not run at start-up"
            time.sleep(0.05)
    assert meetings["young"] in set(db.scalars(select(Meeting.id)))


def test_the_server_keeps_everything_without_a_retention_period(
    db: Session, settings: Settings, meetings: dict[str, int]
) -> None:
    assert settings.retention_days == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.3)
    assert _count(db, Meeting) == 5


def test_mina_retention_by_hand(
    db: Session, cli_env: dict[str, str], meetings: dict[str, int]
) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["retention"], env=cli_env)
    assert refused.exit_code == 1 and "MINA_RETENTION_DAYS" in refused.output

    env = {**cli_env, "MINA_RETENTION_DAYS": str(DAYS)}
    preview = runner.invoke(main, ["retention", "--dry-run"], env=env)
    assert preview.exit_code == 0, preview.output
    assert "2 meeting(s) ended before" in preview.output and "would be deleted" in preview.output
    assert _count(db, Meeting) == 5

    done = runner.invoke(main, ["retention", "--days", "40"], env=env)
    assert done.exit_code == 0, done.output
    assert "1 meeting(s) that ended before" in done.output and "2 audio file(s)" in done.output
    done = runner.invoke(main, ["retention"], env=env)
    assert "1 meeting(s)" in done.output and _count(db, Meeting) == 3


def _count(db: Session, model: Any, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0
