"""Speaker labels in the database and the API: splits keep ids and order, hints are checked,
labelling again is asked for and followed on the Meeting JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import store
from mina.models import Job, JobStatus, Meeting, MeetingStatus, Segment
from mina.settings import Settings
from mina.speakers.assign import plan_changes
from mina.speakers.diarize import Turn
from tests.conftest import login, signup
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header, upload, write_wav

SAID = [
    Said("Good morning, shall we start?", 0, 2000, "Speaker 1"),
    Said("We agreed then. Yes, I think so.", 2000, 6500),
    Said("Great, thank you.", 7000, 8000, "Grace"),
]
WORDS = {
    1: [("We", 2000, 2400), ("agreed", 2400, 3000), ("then.", 3000, 3900)]
    + [("Yes,", 4100, 4600), ("I", 4600, 4800), ("think", 4800, 5300), ("so.", 5300, 6500)],
}


def _meeting(db: Session, settings: Settings) -> Meeting:
    signup_user(db)
    meeting = add_meeting(
        db,
        principal=principal_of(db, "ada@example.com"),
        audio_dir=settings.audio_dir,
        title="Planning",
        started_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        said=SAID,
        audio_s=9,
    )
    for segment in store.list_transcript(db, meeting_id=meeting.id):
        spans = WORDS.get(segment.seq)
        segment.words = (
            [{"text": t, "start_ms": s, "end_ms": e, "probability": 0.8} for t, s, e in spans]
            if spans
            else [
                {
                    "text": t,
                    "start_ms": segment.start_ms,
                    "end_ms": segment.end_ms,
                    "probability": 0.9,
                }
                for t in segment.text.split()
            ]
        )
    db.commit()
    return meeting


def signup_user(db: Session) -> None:
    if store.get_user_by_email(db, email="ada@example.com") is None:
        store.create_user(db, email="ada@example.com", password="correct horse 1", name="Ada")
        db.commit()


def test_labels_and_a_split_keep_ids_order_search_and_talk_time(
    db: Session, settings: Settings
) -> None:
    meeting = _meeting(db, settings)
    before = {s.seq: s.id for s in store.list_transcript(db, meeting_id=meeting.id)}
    turns = [Turn(0, 4000, 0), Turn(4000, 7000, 1), Turn(7000, 9000, 2)]
    changes = plan_changes(store.load_segment_views(db, meeting_id=meeting.id), turns)
    added = store.apply_speaker_changes(db, meeting_id=meeting.id, changes=changes)
    db.commit()
    assert added == 1
    db.expire_all()
    after = store.list_transcript(db, meeting_id=meeting.id)
    assert [(s.seq, s.text, s.speaker) for s in after] == [
        (0, "Good morning, shall we start?", "Speaker 1"),
        (1, "We agreed then.", "Speaker 1"),
        (2, "Yes, I think so.", "Speaker 2"),
        (3, "Great, thank you.", "Grace"),
    ]
    # untouched segments and the first piece of a split keep their ids
    assert [after[0].id, after[1].id, after[3].id] == [before[0], before[1], before[2]]
    assert after[2].id not in before.values()
    assert (after[2].start_ms, after[2].end_ms) == (4100, 6500)
    assert after[2].avg_confidence == pytest.approx(0.8)
    recording = store.list_recordings(db, meeting_id=meeting.id)[0]
    assert recording.total_segments == 4
    talk = {t.speaker: t.talk_ms for t in store.list_meeting_speakers(db, meeting_id=meeting.id)}
    assert talk == {"Speaker 1": 2000 + 1900, "Speaker 2": 2400, "Grace": 1000}
    hits = store.search_meetings(db, workspace_id=meeting.workspace_id, q="think")
    assert [m.segment_id for h in hits.items for m in h.matches] == [after[2].id]


def test_an_edit_made_while_labelling_is_kept(db: Session, settings: Settings) -> None:
    meeting = _meeting(db, settings)
    turns = [Turn(0, 4000, 0), Turn(4000, 7000, 1), Turn(7000, 9000, 2)]
    changes = plan_changes(store.load_segment_views(db, meeting_id=meeting.id), turns)
    mixed = next(s for s in store.list_transcript(db, meeting_id=meeting.id) if s.seq == 1)
    store.edit_segment_text(db, segment=mixed, text="We agreed. Yes.")
    store.apply_speaker_changes(db, meeting_id=meeting.id, changes=changes)
    db.commit()
    db.expire_all()
    after = store.list_transcript(db, meeting_id=meeting.id)
    assert len(after) == 3
    assert after[1].display_text == "We agreed. Yes." and after[1].speaker == "Speaker 2"


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def ada(client: TestClient) -> TestClient:
    signup(client, "ada@example.com")
    login(client, "ada@example.com")
    return client


def _json(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.mark.parametrize("bad", [0, -1, 50, "x", 2.5, True])
def test_bad_speaker_hints_answer_422(
    ada: TestClient, db: Session, settings: Settings, bad: object
) -> None:
    meeting = _meeting(db, settings)
    headers = csrf_header(ada)
    url = f"/api/meetings/{meeting.id}"
    _json(ada.patch(url, json={"expected_speakers": bad}, headers=headers), 422)
    _json(ada.post(url + "/diarize", json={"speakers": bad}, headers=headers), 422)


@pytest.mark.parametrize("bad", ["0", "-1", "50", "x", "2.5"])
def test_a_bad_speaker_hint_on_an_upload_answers_422_and_keeps_nothing(
    ada: TestClient, tmp_path: Path, bad: str
) -> None:
    wav = write_wav(tmp_path / "a.wav", b"\0\0" * 16000)
    body = _json(upload(ada, wav, speakers=bad), 422)
    assert body["error"]["code"] == "validation_error" and "speakers" in body["error"]["message"]
    assert _json(ada.get("/api/meetings"), 200)["total"] == 0


def test_an_upload_keeps_its_speaker_hint(ada: TestClient, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", b"\0\0" * 16000)
    started = _json(upload(ada, wav, speakers="3"), 202)
    meeting = _json(ada.get(f"/api/meetings/{started['meeting_id']}"), 200)
    assert meeting["expected_speakers"] == 3


def test_labelling_again_is_queued_and_shown_on_the_meeting(
    ada: TestClient, db: Session, settings: Settings
) -> None:
    meeting = _meeting(db, settings)
    url = f"/api/meetings/{meeting.id}"
    assert _json(ada.get(url), 200)["analysis"] == {
        "speakers": "off",
        "insights": "off",
        "embeddings": "off",
    }
    queued = _json(ada.post(url + "/diarize", json={"speakers": 2}, headers=csrf_header(ada)), 202)
    job = db.get(Job, queued["job_id"])
    assert job is not None and job.payload == {"speakers": 2} and job.meeting_id == meeting.id
    assert _json(ada.get(url), 200)["analysis"]["speakers"] in ("pending", "running", "done")
    # a hint set later relabels a completed meeting with that count
    updated = _json(ada.patch(url, json={"expected_speakers": 3}, headers=csrf_header(ada)), 200)
    assert updated["expected_speakers"] == 3
    names = db.scalars(select(Job.name).where(Job.meeting_id == meeting.id)).all()
    assert names == ["diarize", "diarize"]
    listed = _json(ada.get("/api/meetings"), 200)["items"][0]
    assert listed["expected_speakers"] == 3 and "speakers" in listed["analysis"]


def test_a_failed_labelling_shows_as_failed(
    ada: TestClient, db: Session, settings: Settings
) -> None:
    meeting = _meeting(db, settings)
    job = store.queue_meeting_job(db, meeting=meeting, name="diarize")
    job.status = JobStatus.FAILED
    db.commit()
    assert _json(ada.get(f"/api/meetings/{meeting.id}"), 200)["analysis"]["speakers"] == "failed"


def test_a_live_meeting_or_one_without_audio_cannot_be_labelled(
    ada: TestClient, db: Session, settings: Settings
) -> None:
    meeting = _meeting(db, settings)
    meeting.status = MeetingStatus.LIVE
    db.commit()
    url = f"/api/meetings/{meeting.id}/diarize"
    assert _json(ada.post(url, headers=csrf_header(ada)), 409)["error"]["code"] == "meeting_busy"
    meeting.status = MeetingStatus.COMPLETED
    for recording in store.list_recordings(db, meeting_id=meeting.id):
        recording.audio_bytes = 0
    db.commit()
    assert _json(ada.post(url, headers=csrf_header(ada)), 409)["error"]["code"] == "no_audio"


def test_speakers_of_another_workspace_are_404(
    ada: TestClient, db: Session, settings: Settings, other_client: TestClient
) -> None:
    meeting = _meeting(db, settings)
    signup(other_client, "eve@example.com")
    login(other_client, "eve@example.com")
    base = f"/api/meetings/{meeting.id}"
    assert other_client.get(base + "/speakers").status_code == 404
    post = other_client.post(base + "/diarize", headers=csrf_header(other_client))
    assert post.status_code == 404
    assert db.scalars(select(Job).where(Job.meeting_id == meeting.id)).all() == []


def test_the_speakers_list_has_talk_time(ada: TestClient, db: Session, settings: Settings) -> None:
    meeting = _meeting(db, settings)
    body = _json(ada.get(f"/api/meetings/{meeting.id}/speakers"), 200)
    assert body["speakers"][0] == {"speaker": None, "talk_ms": 4500, "segments": 1}
    assert {s["speaker"] for s in body["speakers"]} == {None, "Speaker 1", "Grace"}


def test_a_segment_count_stays_right_after_a_split(db: Session, settings: Settings) -> None:
    meeting = _meeting(db, settings)
    changes = plan_changes(
        store.load_segment_views(db, meeting_id=meeting.id),
        [Turn(0, 4000, 0), Turn(4000, 9000, 1)],
    )
    store.apply_speaker_changes(db, meeting_id=meeting.id, changes=changes)
    db.commit()
    stats = store.meeting_stats(db, meeting_ids=[meeting.id])[meeting.id]
    rows = db.scalars(select(Segment).where(Segment.meeting_id == meeting.id)).all()
    assert stats.segment_count == len(rows) == 4
