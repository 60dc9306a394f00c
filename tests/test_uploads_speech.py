"""Uploads of real speech in the formats people bring (made with ffmpeg from the speech clips),
transcribed by the real tiny.en through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
import time
import wave
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import signup
from tests.speechdata import word_error_rate
from tests.uploadhelp import (
    FORMATS,
    WER_BOUND,
    SpeechFiles,
    leftovers,
    make_speech_files,
    upload,
    wait_job,
)

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def speech_files(tmp_path_factory: pytest.TempPathFactory) -> SpeechFiles:
    return make_speech_files(tmp_path_factory.mktemp("uploads"))


@pytest.fixture
def speech_client(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    """A signed-in client of an app with the default engine (whisper tiny.en)."""
    real = settings.model_copy(update={"engine": "whisper", "vad": "silero"})
    with TestClient(create_app(real)) as client:
        signup(client, "ada@example.com", "Ada Lovelace")
        yield client, real


@pytest.mark.parametrize("kind", list(FORMATS))
def test_an_uploaded_recording_is_transcribed(
    speech_client: tuple[TestClient, Settings], speech_files: SpeechFiles, kind: str
) -> None:
    client, settings = speech_client
    started_at = time.monotonic()
    response = upload(client, speech_files.files[kind], title=f"Upload {kind}")
    assert response.status_code == 202, response.text
    started = response.json()
    job, seen = wait_job(client, started["job_id"], timeout_s=120)
    elapsed = time.monotonic() - started_at
    assert job["status"] == "done", job
    assert seen == sorted(seen) and seen[-1] == 1.0, seen

    meeting_id = started["meeting_id"]
    meeting = client.get(f"/api/meetings/{meeting_id}").json()
    assert meeting["status"] == "completed" and meeting["title"] == f"Upload {kind}"
    # the audio is the file's, at 16 kHz mono, whatever it came as
    assert meeting["duration_ms"] == pytest.approx(speech_files.duration_s * 1000, abs=120)
    segments = client.get(f"/api/meetings/{meeting_id}/transcript").json()["segments"]
    said = " ".join(s["text"] for s in segments)
    wer = word_error_rate(speech_files.reference, said)
    logger.info("%s: WER %.3f in %.1f s: %s", kind, wer, elapsed, said)
    assert wer <= WER_BOUND, f"{kind}: WER {wer:.3f}: {said!r}"
    assert meeting["segment_count"] == len(segments) >= 3
    assert meeting["word_count"] == sum(len(s["text"].split()) for s in segments)
    starts = [s["start_ms"] for s in segments]
    assert starts == sorted(starts) and all(s["start_ms"] < s["end_ms"] for s in segments)
    assert segments[-1]["end_ms"] <= meeting["duration_ms"]
    assert all(w["start_ms"] <= w["end_ms"] for s in segments for w in s["words"])

    # playable and seekable: the WAV's header says 16 kHz mono, a Range lands mid-file
    whole = client.get(f"/api/meetings/{meeting_id}/audio")
    with wave.open(io.BytesIO(whole.content), "rb") as played:
        assert (played.getframerate(), played.getnchannels()) == (16000, 1)
        assert played.getnframes() / 16000 == pytest.approx(speech_files.duration_s, abs=0.12)
    middle = len(whole.content) // 2
    part = client.get(
        f"/api/meetings/{meeting_id}/audio", headers={"Range": f"bytes={middle}-{middle + 3199}"}
    )
    assert part.status_code == 206 and part.content == whole.content[middle : middle + 3200]
    listed = client.get("/api/meetings").json()["items"]
    assert [(m["id"], m["status"]) for m in listed] == [(meeting_id, "completed")]
    assert leftovers(settings) == []


def test_progress_rises_while_a_long_upload_is_transcribed(
    speech_client: tuple[TestClient, Settings], speech_files: SpeechFiles
) -> None:
    client, _ = speech_client
    started_at = time.monotonic()
    started = upload(client, speech_files.long).json()
    statuses = set()
    seen: list[float] = []
    while True:
        job = client.get(f"/api/jobs/{started['job_id']}").json()
        seen.append(job["progress"])
        statuses.add(client.get(f"/api/meetings/{started['meeting_id']}").json()["status"])
        if job["status"] in ("done", "failed"):
            break
        assert time.monotonic() - started_at < 180, job
        time.sleep(0.02)
    elapsed = time.monotonic() - started_at
    assert job["status"] == "done", job
    between = sorted({p for p in seen if 0 < p < 1})
    logger.info(
        "long upload (%.0f s of audio) in %.1f s; progress seen: %s",
        3 * speech_files.duration_s,
        elapsed,
        between,
    )
    assert seen == sorted(seen), seen
    assert len(between) >= 2, f"progress did not rise by steps: {seen}"
    assert "processing" in statuses and seen[-1] == 1.0
    # faster than real time, on two busy cores
    assert elapsed < 3 * speech_files.duration_s, elapsed
    segments = client.get(f"/api/meetings/{started['meeting_id']}/transcript").json()["segments"]
    said = " ".join(s["text"] for s in segments)
    reference = " ".join([speech_files.reference] * 3)
    assert word_error_rate(reference, said) <= WER_BOUND, said
