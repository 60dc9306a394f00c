"""Uploads and jobs over the real app and database, with the fake engine: the pipeline, bad
uploads, the workspace boundary, and jobs that died with the server."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mina import store, uploads
from mina.engines.fake import FakeEngine
from mina.jobs.base import JobContext, JobError
from mina.jobs.execute import MAX_ATTEMPTS
from mina.jobs.runner import JobRunner
from mina.live.config import StreamConfig
from mina.models import Job, JobStatus, Meeting, MeetingStatus, RecordingSession, Segment, utcnow
from mina.settings import Settings
from mina.uploads import JOB_NAME, transcribe_upload
from mina.web.app import create_app
from tests.conftest import signup
from tests.livehelp import sentences_pcm, words_of
from tests.uploadhelp import csrf_header, leftovers, upload, wait_job, write_wav

SENTENCES = ([1, 2, 3], [4, 5], [6, 7, 8])


@pytest.fixture
def speech_wav(tmp_path: Path) -> tuple[Path, bytes]:
    pcm = sentences_pcm(*SENTENCES)
    return write_wav(tmp_path / "standup.wav", pcm), pcm


def test_an_upload_becomes_a_transcribed_meeting(
    user_client: TestClient, settings: Settings, speech_wav: tuple[Path, bytes], db: Session
) -> None:
    path, pcm = speech_wav
    response = upload(user_client, path, title="Stand-up")
    assert response.status_code == 202, response.text
    started = response.json()
    assert set(started) == {"meeting_id", "job_id"}
    # the meeting exists at once, in the lists like a recording, while it is processed
    listed = user_client.get("/api/meetings").json()["items"]
    assert [m["id"] for m in listed] == [started["meeting_id"]]
    assert listed[0]["status"] in ("processing", "completed")

    job, seen = wait_job(user_client, started["job_id"])
    assert job == {
        "id": started["job_id"],
        "status": "done",
        "progress": 1.0,
        "meeting_id": started["meeting_id"],
        "error": None,
    }
    assert seen == sorted(seen), "progress went backwards"

    meeting = user_client.get(f"/api/meetings/{started['meeting_id']}").json()
    assert meeting["title"] == "Stand-up" and meeting["status"] == "completed"
    assert meeting["segment_count"] == 3 and meeting["word_count"] == 8
    assert meeting["duration_ms"] == pytest.approx(len(pcm) / 32, abs=1)
    segments = user_client.get(f"/api/meetings/{started['meeting_id']}/transcript").json()[
        "segments"
    ]
    assert [s["seq"] for s in segments] == [0, 1, 2]
    said = [w["text"].rstrip(".").lower() for s in segments for w in s["words"]]
    assert said == words_of(*SENTENCES)
    # the audio is stored like a live session's: 16 kHz mono PCM behind a WAV header, seekable
    whole = user_client.get(f"/api/meetings/{started['meeting_id']}/audio")
    assert whole.status_code == 200 and whole.content[44:] == pcm
    part = user_client.get(
        f"/api/meetings/{started['meeting_id']}/audio", headers={"Range": "bytes=1044-2043"}
    )
    assert part.status_code == 206 and part.content == pcm[1000:2000]
    # the job made the playback copy too: the audio folder holds it beside the PCM
    copies = list((settings.data_dir / "audio").rglob(f"meeting-{started['meeting_id']}-*.opus"))
    assert len(copies) == 1
    opus = user_client.get(f"/api/meetings/{started['meeting_id']}/audio?format=opus")
    assert opus.status_code == 200 and opus.content == copies[0].read_bytes()
    # the uploaded file is gone once transcribed; the meeting page shows the transcript
    assert leftovers(settings) == []
    page = user_client.get(f"/dashboard/meeting/{started['meeting_id']}").text
    assert "word0004 word0005" in page.lower()
    assert "Stand-up" in user_client.get("/dashboard/meetings").text


def test_the_title_defaults_to_the_file_name(
    user_client: TestClient, speech_wav: tuple[Path, bytes]
) -> None:
    path, _ = speech_wav
    response = upload(user_client, path, language="en")
    assert response.status_code == 202, response.text
    wait_job(user_client, response.json()["job_id"])
    meeting = user_client.get(f"/api/meetings/{response.json()['meeting_id']}").json()
    assert meeting["title"] == "standup" and meeting["language"] == "en"


def nothing_was_made(client: TestClient, settings: Settings, db: Session) -> None:
    assert client.get("/api/meetings").json()["total"] == 0
    assert db.scalar(select(func.count(Job.id))) == 0
    assert db.scalar(select(func.count(RecordingSession.id))) == 0
    assert leftovers(settings) == []


def test_bad_uploads_are_refused_and_leave_nothing(
    user_client: TestClient, settings: Settings, tmp_path: Path, db: Session
) -> None:
    junk = tmp_path / "notes.mp3"
    junk.write_bytes(bytes(range(256)) * 40)
    response = upload(user_client, junk)
    assert response.status_code == 415
    assert response.json()["error"] == {
        "code": "not_audio",
        "message": "notes.mp3 is not audio or video that Mina can decode.",
    }
    text = tmp_path / "readme.wav"
    text.write_text("RIFF but not really a wave file\n" * 10)
    assert upload(user_client, text).json()["error"]["code"] == "not_audio"

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    response = upload(user_client, empty)
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_file"

    wav = write_wav(tmp_path / "ok.wav", sentences_pcm([1]))
    wrong_field = upload(user_client, wav, field="audio")
    assert wrong_field.status_code == 422
    assert wrong_field.json()["error"]["code"] == "missing_file"
    no_file = user_client.post(
        "/api/transcriptions",
        data={"title": "x"},
        files={"other": ("a.txt", b"hi")},
        headers=csrf_header(user_client),
    )
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "missing_file"
    not_multipart = user_client.post(
        "/api/transcriptions", json={"file": "x"}, headers=csrf_header(user_client)
    )
    assert not_multipart.status_code == 415
    assert not_multipart.json()["error"]["code"] == "not_multipart"
    bad_language = upload(user_client, wav, language="English please")
    assert bad_language.status_code == 422
    assert bad_language.json()["error"]["code"] == "validation_error"
    nothing_was_made(user_client, settings, db)


@pytest.fixture
def small_limit_client(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    limited = settings.model_copy(update={"max_upload_mb": 1})
    with TestClient(create_app(limited)) as client:
        signup(client, "ada@example.com", "Ada Lovelace")
        yield client, limited


def test_an_upload_over_the_limit_is_413_whatever_the_client_says(
    small_limit_client: tuple[TestClient, Settings], tmp_path: Path, db: Session
) -> None:
    client, limited = small_limit_client
    big = write_wav(tmp_path / "long.wav", bytes(2 * 16000 * 40))  # 40 s: 1.28 MB
    response = upload(client, big)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "upload_too_large",
        "message": "The file is larger than the 1 MB this server accepts.",
    }
    # no Content-Length at all (chunked): the bytes are counted as they arrive
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="long.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    data = big.read_bytes()

    def body() -> Iterator[bytes]:
        yield head
        for offset in range(0, len(data), 65536):
            yield data[offset : offset + 65536]
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = client.post(
        "/api/transcriptions",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            **csrf_header(client),
        },
    )
    assert chunked.status_code == 413, chunked.text
    # a declared length over the limit is refused before the body is read
    declared = client.post(
        "/api/transcriptions",
        content=b"",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(5 * 1024 * 1024),
            **csrf_header(client),
        },
    )
    assert declared.status_code == 413
    # just under the limit is fine
    fits = write_wav(tmp_path / "short.wav", sentences_pcm([1, 2]))
    assert upload(client, fits).status_code == 202
    assert client.get("/api/meetings").json()["total"] == 1
    # the refused uploads queued nothing (the one that fits may already have been transcribed
    # and queued its post-meeting jobs)
    names = db.scalars(select(Job.name)).all()
    assert names.count("transcribe_upload") == 1, names


def test_jobs_and_uploads_stay_in_their_workspace(
    user_client: TestClient,
    other_client: TestClient,
    client: TestClient,
    speech_wav: tuple[Path, bytes],
) -> None:
    path, _ = speech_wav
    started = upload(user_client, path).json()
    wait_job(user_client, started["job_id"])
    theirs = other_client.get(f"/api/jobs/{started['job_id']}")
    missing = other_client.get("/api/jobs/999999")
    assert theirs.status_code == missing.status_code == 404
    assert (
        theirs.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "Job not found."}}
    )
    assert other_client.get("/api/meetings").json()["total"] == 0
    # anonymous: 401 for both routes, before any byte of the file is read
    assert client.get(f"/api/jobs/{started['job_id']}").status_code == 401
    with path.open("rb") as handle:
        anonymous = client.post("/api/transcriptions", files={"file": ("a.wav", handle)})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    # a signed-in browser needs the CSRF header
    with path.open("rb") as handle:
        forged = user_client.post("/api/transcriptions", files={"file": ("a.wav", handle)})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    assert user_client.get("/api/meetings").json()["total"] == 1


def test_a_token_uploads_and_polls(
    user_client: TestClient, client: TestClient, db: Session, speech_wav: tuple[Path, bytes]
) -> None:
    ada = store.get_user_by_email(db, email="ada@example.com")
    assert ada is not None
    _, token = store.create_api_token(db, user=ada, name="script")
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    path, _ = speech_wav
    with path.open("rb") as handle:
        response = client.post(
            "/api/transcriptions", files={"file": (path.name, handle)}, headers=auth
        )
    assert response.status_code == 202, response.text
    client.headers.update(auth)
    job, _ = wait_job(client, response.json()["job_id"])
    assert job["status"] == "done"


# --- jobs that died with the server ------------------------------------------------------


def interrupted_upload(
    db: Session, settings: Settings, pcm: bytes, *, attempts: int = 1
) -> store.CreatedUpload:
    """The rows and files an upload leaves when the server dies while its job runs."""
    ada = store.get_user_by_email(db, email="ada@example.com")
    assert ada is not None
    principal = store.get_principal(db, user=ada)
    directory = settings.upload_dir / str(principal.workspace.id)
    directory.mkdir(parents=True, exist_ok=True)
    source = write_wav(directory / "meeting.wav", pcm)
    created = store.create_upload(
        db,
        principal=principal,
        audio_dir=settings.audio_dir,
        title="Interrupted",
        language="en",
        engine="fake",
        model="bursts",
        job_name=JOB_NAME,
        payload={"upload_path": str(source), "duration_s": len(pcm) / 32000},
    )
    created.job.status = JobStatus.RUNNING
    created.job.attempts = attempts
    created.job.progress = 0.05
    created.job.started_at = utcnow()
    db.commit()
    return created


def test_a_job_that_died_while_decoding_runs_again_at_start_up(
    user_client: TestClient, settings: Settings, db: Session
) -> None:
    pcm = sentences_pcm(*SENTENCES)
    created = interrupted_upload(db, settings, pcm)
    pcm_path = Path(created.recording.audio_path)
    pcm_path.parent.mkdir(parents=True, exist_ok=True)
    pcm_path.write_bytes(pcm[: len(pcm) // 3])  # half-decoded audio on disk
    _, token = store.create_api_token(db, user=created_user(db), name="t")
    db.commit()
    with TestClient(create_app(settings)) as restarted:
        restarted.headers["Authorization"] = f"Bearer {token}"
        job, _ = wait_job(restarted, created.job.id)
        assert job["status"] == "done", job
        meeting = restarted.get(f"/api/meetings/{created.meeting.id}").json()
        segments = restarted.get(f"/api/meetings/{created.meeting.id}/transcript").json()
        audio = restarted.get(f"/api/meetings/{created.meeting.id}/audio")
    assert meeting["status"] == "completed" and meeting["word_count"] == 8
    said = [w["text"].rstrip(".").lower() for s in segments["segments"] for w in s["words"]]
    assert said == words_of(*SENTENCES)
    assert audio.content[44:] == pcm  # decoded again from the start, not appended
    db.expire_all()
    assert db.get(Job, created.job.id).attempts == 2  # type: ignore[union-attr]
    assert leftovers(settings) == []


def created_user(db: Session) -> Any:
    user = store.get_user_by_email(db, email="ada@example.com")
    assert user is not None
    return user


def test_a_job_that_died_mid_transcript_continues_after_its_last_segment(
    user_client: TestClient, settings: Settings, db: Session
) -> None:
    pcm = sentences_pcm(*SENTENCES)
    created = interrupted_upload(db, settings, pcm)
    pcm_path = Path(created.recording.audio_path)
    pcm_path.parent.mkdir(parents=True, exist_ok=True)
    pcm_path.write_bytes(pcm)
    job = db.get(Job, created.job.id)
    assert job is not None
    job.payload = {**job.payload, "decoded_bytes": len(pcm)}
    # the first sentence was stored before the server died (its last word ends at 2.2 s)
    store.add_segments(
        db,
        recording_id=created.recording.id,
        meeting_id=created.meeting.id,
        segments=[
            store.NewSegment(
                seq=0,
                text="Word0001 word0002 word0003.",
                start_ms=400,
                end_ms=2200,
                confidence=0.9,
                words=[
                    {"text": f"word000{n}", "start_ms": 0, "end_ms": 0, "probability": 0.9}
                    for n in (1, 2, 3)
                ],
            )
        ],
    )
    db.commit()
    _, token = store.create_api_token(db, user=created_user(db), name="t")
    db.commit()
    with TestClient(create_app(settings)) as restarted:
        restarted.headers["Authorization"] = f"Bearer {token}"
        job_out, _ = wait_job(restarted, created.job.id)
        segments = restarted.get(f"/api/meetings/{created.meeting.id}/transcript").json()
    assert job_out["status"] == "done", job_out
    said = [w["text"].rstrip(".").lower() for s in segments["segments"] for w in s["words"]]
    assert said == words_of(*SENTENCES)  # each word once
    assert [s["seq"] for s in segments["segments"]] == [0, 1, 2]


def test_a_job_that_keeps_dying_fails_with_its_meeting(
    user_client: TestClient, settings: Settings, db: Session
) -> None:
    created = interrupted_upload(db, settings, sentences_pcm([1]), attempts=MAX_ATTEMPTS)
    _, token = store.create_api_token(db, user=created_user(db), name="t")
    db.commit()
    with TestClient(create_app(settings)) as restarted:
        restarted.headers["Authorization"] = f"Bearer {token}"
        job, _ = wait_job(restarted, created.job.id)
        meeting = restarted.get(f"/api/meetings/{created.meeting.id}").json()
    assert job["status"] == "failed" and "not tried again" in job["error"]
    assert meeting["status"] == "failed"
    db.expire_all()
    recording = db.get(RecordingSession, created.recording.id)
    assert recording is not None and recording.status.value == "completed"


def test_recovery_leaves_an_upload_to_its_job(
    user_client: TestClient, settings: Settings, db: Session
) -> None:
    created = interrupted_upload(db, settings, sentences_pcm([1]))
    future = utcnow().replace(year=utcnow().year + 1)
    assert store.claim_stale_recordings(db, stale_before=future) == []
    db.rollback()
    meeting = db.get(Meeting, created.meeting.id)
    assert meeting is not None and meeting.status is MeetingStatus.PROCESSING


class DeletingEngine(FakeEngine):
    """The fake engine, deleting the meeting being transcribed when it is first called."""

    def __init__(self, sessions: sessionmaker[Session], meeting_id: int) -> None:
        super().__init__()
        self.sessions = sessions
        self.meeting_id = meeting_id

    def transcribe(
        self, audio: Any, *, prompt: str = "", language: str | None = None, final: bool = False
    ) -> Any:
        if self.calls == 0:
            with self.sessions() as session:
                meeting = session.get(Meeting, self.meeting_id)
                assert meeting is not None
                store.delete_meeting(session, meeting=meeting)
                session.commit()
        return super().transcribe(audio, prompt=prompt, language=language, final=final)


@pytest.mark.parametrize("when", ["mid_transcript", "after_its_last_segments"])
def test_a_meeting_deleted_while_its_upload_is_transcribed_cancels_the_job(
    user_client: TestClient,
    settings: Settings,
    db: Session,
    db_sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    """The delete lands while the engine transcribes, or between the last stored segments
    and the meeting's completion: the job ends cancelled and leaves no file and no row."""
    created = interrupted_upload(db, settings, sentences_pcm(*SENTENCES))
    job_id, pcm_path = created.job.id, Path(created.recording.audio_path)
    source = Path(created.job.payload["upload_path"])
    engine = FakeEngine()
    if when == "mid_transcript":
        engine = DeletingEngine(db_sessions, created.meeting.id)
    else:
        finish = store.finish_recording

        def deleted_first(session: Session, **kwargs: Any) -> Any:
            with db_sessions() as other:
                meeting = other.get(Meeting, created.meeting.id)
                assert meeting is not None
                store.delete_meeting(other, meeting=meeting)
                other.commit()
            return finish(session, **kwargs)

        monkeypatch.setattr(store, "finish_recording", deleted_first)
    with ThreadPoolExecutor(1) as pool:
        context = JobContext(
            sessions=db_sessions,
            load_engine=lambda: engine,
            decode_pool=pool,
            settings=settings,
            stream_config=StreamConfig(vad="energy"),
            stopping=threading.Event(),
        )
        with pytest.raises(JobError, match="cancelled"):
            transcribe_upload(context, job_id=job_id)
    assert engine.calls == 1  # the whole upload in one block
    assert not source.exists() and not pcm_path.exists()
    db.expire_all()
    assert db.get(Job, job_id) is None
    assert db.scalar(select(func.count(Segment.id))) == 0


class StoppingEngine(FakeEngine):
    """The fake engine, shutting the job runner down (from another thread, as a signal
    handler would) when it is first called."""

    def __init__(self) -> None:
        super().__init__()
        self.runner: JobRunner | None = None
        self.stopper: threading.Thread | None = None

    def transcribe(
        self, audio: Any, *, prompt: str = "", language: str | None = None, final: bool = False
    ) -> Any:
        if self.calls == 0 and self.runner is not None:
            stopper = threading.Thread(target=self.runner.stop)
            stopper.start()
            self.stopper = stopper  # only once started: the test joins it as soon as it is set
            while not self.runner._stopping.is_set():
                time.sleep(0.01)
        return super().transcribe(audio, prompt=prompt, language=language, final=final)


def test_a_job_stopped_by_a_shutdown_is_queued_again_and_finishes_at_the_next_start(
    user_client: TestClient, settings: Settings, db: Session, db_sessions: sessionmaker[Session]
) -> None:
    created = interrupted_upload(db, settings, sentences_pcm(*SENTENCES), attempts=0)
    job_id, meeting_id = created.job.id, created.meeting.id
    created.job.status = JobStatus.QUEUED
    db.commit()
    engine = StoppingEngine()
    with ThreadPoolExecutor(1) as pool:
        runner = JobRunner(
            sessions=db_sessions,
            load_engine=lambda: engine,
            decode_pool=pool,
            settings=settings,
            stream_config=StreamConfig(vad="energy"),
        )
        engine.runner = runner
        runner.start()
        deadline = time.monotonic() + 30
        while engine.stopper is None:
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.02)
        engine.stopper.join(30)  # stop() returns once the worker has finished the job
        assert not engine.stopper.is_alive()
        db.expire_all()
        job = db.get(Job, job_id)
        assert job is not None and job.status is JobStatus.QUEUED and job.attempts == 0
        assert db.get(Meeting, meeting_id).status is MeetingStatus.PROCESSING  # type: ignore[union-attr]

        engine.runner = None
        runner.start()  # the next start picks it up
        while True:
            db.expire_all()
            job = db.get(Job, job_id)
            assert job is not None
            if job.status is JobStatus.DONE:
                break
            assert time.monotonic() < deadline + 30, job.status
            time.sleep(0.02)
        runner.stop()
    assert job.attempts == 1 and job.progress == 1.0
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None and meeting.status is MeetingStatus.COMPLETED
    segments = store.list_transcript(db, meeting_id=meeting_id)
    said = [w["text"].rstrip(".").lower() for s in segments for w in s.words]
    assert said == words_of(*SENTENCES)


def test_a_long_upload_is_transcribed_in_blocks_cut_at_quiet_moments(
    user_client: TestClient,
    speech_wav: tuple[Path, bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # 7.1 s of audio in blocks of at most 3.2 s (3.2 s is inside the fourth word), each
    # ending at the quietest 20 ms of its last second: no word is cut in two, none is heard
    # twice, none is lost
    monkeypatch.setattr(uploads, "BLOCK_S", 3.2)
    monkeypatch.setattr(uploads, "CUT_SEARCH_S", 1.0)
    pcm = speech_wav[1]
    pcm_file = tmp_path / "audio.pcm"
    pcm_file.write_bytes(pcm)
    blocks = list(uploads._blocks(pcm_file, 0, len(pcm)))
    assert len(blocks) == 3 and blocks[0][0] == 0 and blocks[-1][1] == len(pcm)
    assert 2.2 <= blocks[0][1] / 32000 <= 3.0, blocks  # in the pause after the first sentence
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    # every progress the job stores (polling could miss them: the fake engine is quick)
    stored: list[float] = []
    update_job = store.update_job

    def recording_update(session: Session, *, job_id: int, **values: Any) -> bool:
        stored.append(values["progress"])
        return update_job(session, job_id=job_id, **values)

    monkeypatch.setattr(store, "update_job", recording_update)
    response = upload(user_client, speech_wav[0])
    job, _ = wait_job(user_client, response.json()["job_id"])
    assert job["status"] == "done"
    assert len({p for p in stored if 0 < p < 1}) >= 2, stored  # one step per block
    assert stored == sorted(stored), stored
    segments = user_client.get(f"/api/meetings/{job['meeting_id']}/transcript").json()["segments"]
    said = [w["text"].rstrip(".").lower() for s in segments for w in s["words"]]
    assert said == words_of(*SENTENCES)


def test_files_of_uploads_cut_short_by_a_crash_are_removed_at_start_up(
    user_client: TestClient, settings: Settings, db: Session
) -> None:
    created = interrupted_upload(db, settings, sentences_pcm([1]))
    needed = Path(created.job.payload["upload_path"])
    folder = needed.parent
    abandoned, arriving = folder / "abandoned.mp3", folder / "arriving.mp3"
    for path in (abandoned, arriving):
        path.write_bytes(b"half an upload")
    day_ago = time.time() - 86400
    for path in (abandoned, needed):
        os.utime(path, (day_ago, day_ago))
    _, token = store.create_api_token(db, user=created_user(db), name="t")
    db.commit()
    with TestClient(create_app(settings)) as restarted:
        restarted.headers["Authorization"] = f"Bearer {token}"
        job, _ = wait_job(restarted, created.job.id)
    assert not abandoned.exists()
    assert arriving.exists()  # young: it may still be arriving in another process
    assert job["status"] == "done", job  # the file its job needed was left to it
