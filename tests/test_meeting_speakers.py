"""The talk-time summary (meeting_speakers, kept by triggers on segments) stays exactly the sum
of the segments through inserts, speaker edits and renames, segment and meeting deletes, and the
migration that creates and backfills it. Both databases."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, inspect, select, update
from sqlalchemy.orm import Session

from mina import store
from mina.migrate import migrate_database, upgrade_database
from mina.models import Meeting, MeetingSpeaker, RecordingSession, Segment, utcnow
from mina.settings import Settings
from tests.meetingdata import Said, add_meeting, principal_of
from tests.test_segments import SAID, _csrf

Summary = dict[tuple[int, str], tuple[int, int]]

OTHER = [Said("second meeting", 0, 3_000, "Speaker 1"), Said("me too", 3_000, 3_500, "Bob")]


def _summary(db: Session) -> Summary:
    """What the triggers keep: (meeting, speaker key) -> (talk ms, segments)."""
    db.expire_all()
    rows = db.execute(
        select(
            MeetingSpeaker.meeting_id,
            MeetingSpeaker.speaker_key,
            MeetingSpeaker.talk_ms,
            MeetingSpeaker.segments,
        )
    )
    return {(m, key): (int(talk), int(n)) for m, key, talk, n in rows}


def _from_segments(db: Session) -> Summary:
    """The same, summed from the segments themselves."""
    key = func.coalesce(Segment.speaker, "")
    rows = db.execute(
        select(
            Segment.meeting_id, key, func.sum(Segment.end_ms - Segment.start_ms), func.count()
        ).group_by(Segment.meeting_id, key)
    )
    return {(m, k): (int(talk), int(n)) for m, k, talk, n in rows}


def _exact(db: Session) -> Summary:
    summary = _summary(db)
    assert summary == _from_segments(db)
    return summary


@pytest.fixture
def meetings(user_client: TestClient, db: Session, settings: Settings) -> tuple[Meeting, Meeting]:
    principal = principal_of(db, "ada@example.com")
    made = [
        add_meeting(
            db,
            principal=principal,
            audio_dir=settings.audio_dir,
            title=title,
            started_at=utcnow() - timedelta(hours=hours),
            said=said,
            audio_s=7,
        )
        for title, said, hours in (("Kick-off", SAID, 2), ("Follow-up", OTHER, 1))
    ]
    return made[0], made[1]


def _segment_ids(db: Session, meeting_id: int) -> list[int]:
    return list(
        db.scalars(select(Segment.id).where(Segment.meeting_id == meeting_id).order_by(Segment.seq))
    )


def test_inserts_add_up_per_speaker(meetings: tuple[Meeting, Meeting], db: Session) -> None:
    first, second = meetings
    assert _exact(db) == {
        (first.id, "Speaker 1"): (3_500, 2),
        (first.id, "Speaker 2"): (2_500, 1),
        (first.id, ""): (1_000, 1),
        (second.id, "Speaker 1"): (3_000, 1),
        (second.id, "Bob"): (500, 1),
    }
    # a live batch later in the same recording: one more segment each for two speakers
    recording = db.scalars(
        select(RecordingSession).where(RecordingSession.meeting_id == first.id)
    ).one()
    store.add_segments(
        db,
        recording_id=recording.id,
        meeting_id=first.id,
        segments=[
            store.NewSegment(seq=10, text="later", start_ms=7_000, end_ms=9_000, confidence=0.9),
            store.NewSegment(
                seq=11, text="more", start_ms=9_000, end_ms=9_250, confidence=0.9, speaker="Eve"
            ),
        ],
    )
    db.commit()
    summary = _exact(db)
    assert summary[(first.id, "")] == (3_000, 2)
    assert summary[(first.id, "Eve")] == (250, 1)
    speakers = store.list_meeting_speakers(db, meeting_id=first.id)
    assert [(s.speaker, s.talk_ms, s.segments) for s in speakers] == [
        ("Speaker 1", 3_500, 2),
        (None, 3_000, 2),
        ("Speaker 2", 2_500, 1),
        ("Eve", 250, 1),
    ]


def test_speaker_edits_move_talk_time(
    user_client: TestClient, meetings: tuple[Meeting, Meeting], db: Session
) -> None:
    first, second = meetings
    ids = _segment_ids(db, first.id)
    headers = _csrf(user_client)
    # Speaker 2's only segment goes to Speaker 1: Speaker 2's row goes
    response = user_client.patch(
        f"/api/segments/{ids[1]}", json={"speaker": "Speaker 1"}, headers=headers
    )
    assert response.status_code == 200
    summary = _exact(db)
    assert summary[(first.id, "Speaker 1")] == (6_000, 3)
    assert (first.id, "Speaker 2") not in summary
    # blank unlabels; a text edit changes no talk time
    user_client.patch(f"/api/segments/{ids[0]}", json={"speaker": " "}, headers=headers)
    user_client.patch(f"/api/segments/{ids[2]}", json={"text": "let us start"}, headers=headers)
    summary = _exact(db)
    assert summary[(first.id, "")] == (3_000, 2)
    assert summary[(first.id, "Speaker 1")] == (4_000, 2)
    assert summary[(second.id, "Speaker 1")] == (3_000, 1)  # the other meeting is untouched


def test_a_rename_merges_into_an_existing_speaker(
    user_client: TestClient, meetings: tuple[Meeting, Meeting], db: Session
) -> None:
    first, second = meetings
    url = f"/api/meetings/{first.id}/speakers"
    headers = _csrf(user_client)
    response = user_client.post(url, json={"from": "Speaker 1", "to": "Speaker 2"}, headers=headers)
    assert response.status_code == 200 and response.json()["segments"] == 2
    summary = _exact(db)
    assert summary[(first.id, "Speaker 2")] == (6_000, 3)
    assert (first.id, "Speaker 1") not in summary
    assert summary[(second.id, "Speaker 1")] == (3_000, 1)
    response = user_client.post(url, json={"from": None, "to": "Ada"}, headers=headers)
    assert response.json()["segments"] == 1
    summary = _exact(db)
    assert summary[(first.id, "Ada")] == (1_000, 1) and (first.id, "") not in summary


def test_times_and_meeting_changes_are_followed(
    meetings: tuple[Meeting, Meeting], db: Session
) -> None:
    first, second = meetings
    ids = _segment_ids(db, first.id)
    db.execute(update(Segment).where(Segment.id == ids[0]).values(end_ms=2_600))  # +600 ms
    db.execute(update(Segment).where(Segment.id == ids[1]).values(meeting_id=second.id))
    db.commit()
    summary = _exact(db)
    assert summary[(first.id, "Speaker 1")] == (4_100, 2)
    assert (first.id, "Speaker 2") not in summary
    assert summary[(second.id, "Speaker 2")] == (2_500, 1)


def test_deletes_take_talk_time_away(
    user_client: TestClient, meetings: tuple[Meeting, Meeting], db: Session
) -> None:
    first, second = meetings
    ids = _segment_ids(db, first.id)
    db.execute(delete(Segment).where(Segment.id.in_([ids[0], ids[3]])))
    db.commit()
    summary = _exact(db)
    assert summary[(first.id, "Speaker 1")] == (1_500, 1)
    assert (first.id, "") not in summary
    # a recording's segments go with it (foreign key cascade)
    db.execute(delete(RecordingSession).where(RecordingSession.meeting_id == second.id))
    db.commit()
    assert not [key for key in _exact(db) if key[0] == second.id]
    # the meeting through the API: its summary goes, nothing else
    response = user_client.delete(f"/api/meetings/{first.id}", headers=_csrf(user_client))
    assert response.status_code in (200, 204)
    assert _exact(db) == {}


def test_the_migration_backfills_and_downgrades(
    meetings: tuple[Meeting, Meeting], db: Session, db_engine: Engine, backend: str
) -> None:
    before = _exact(db)
    assert len(before) == 5
    db.close()
    migrate_database(db_engine, "0002")  # down to it, with the rows in place
    inspector = inspect(db_engine)
    assert "meeting_speakers" not in inspector.get_table_names()
    with warnings.catch_warnings():  # SQLite: expression indexes are skipped with a warning
        warnings.filterwarnings("ignore", message=".*expression-based index")
        indexes = {index["name"] for index in inspector.get_indexes("meetings")}
    assert "ix_meetings_workspace_started" not in indexes
    with db_engine.begin() as connection:  # a change while no summary exists: the backfill sees it
        connection.execute(update(Segment).where(Segment.speaker == "Bob").values(speaker="Robert"))
        if backend == "sqlite":  # statistics for the older indexes: 0003 adds its own
            connection.exec_driver_sql("ANALYZE")
    upgrade_database(db_engine)  # 0003 sums what is already there
    if backend == "sqlite":
        with db_engine.connect() as connection:
            analyzed = connection.exec_driver_sql("SELECT idx FROM sqlite_stat1").scalars().all()
        assert "ix_meetings_workspace_started" in analyzed
    after = _exact(db)
    assert len(after) == 5
    assert after == {
        (key[0], "Robert" if key[1] == "Bob" else key[1]): value for key, value in before.items()
    }
