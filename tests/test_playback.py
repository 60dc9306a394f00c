"""Playback copies: a finished meeting's audio as Ogg Opus, made once, served with Range,
removed with the meeting; the WAV stays the record. Real speech for the encoder, the real app
and database (SQLite and PostgreSQL) for the API."""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.audio import decode_file, pcm16_to_float32
from mina.models import RecordingSession
from mina.playback import MeetingAudio, copies_of, ensure_playback
from tests.conftest import csrf_from
from tests.livehelp import send_pcm, sentences_pcm, start, stop
from tests.speechdata import get_clip

RATE = 16000


def _speech_pcm() -> bytes:
    with wave.open(str(get_clip("jfk").wav), "rb") as source:
        return source.readframes(source.getnframes())


def _envelope(samples: np.ndarray, frame: int = 320) -> np.ndarray:
    """Loudness per 20 ms: what a listener hears as the shape of the speech."""
    usable = samples[: samples.size - samples.size % frame].reshape(-1, frame)
    return np.sqrt(np.mean(usable.astype(np.float64) ** 2, axis=1))


def test_the_opus_copy_is_the_recordings_in_order_and_a_tenth_of_the_size(
    tmp_path: Path,
) -> None:
    pcm = _speech_pcm()
    half = len(pcm) // 2 - (len(pcm) // 2) % 2
    first, second = tmp_path / "a.pcm", tmp_path / "b.pcm"
    first.write_bytes(pcm[:half])
    second.write_bytes(pcm[half:])
    audio = MeetingAudio(7, [(first, half), (second, len(pcm) - half)], RATE)

    copy = ensure_playback(audio)

    assert copy.parent == tmp_path and copy.name.startswith("meeting-7-")
    assert copy.read_bytes()[:4] == b"OggS"
    assert copy.stat().st_size < len(pcm) / 8
    heard = decode_file(copy)
    original = pcm16_to_float32(pcm)
    assert abs(heard.size - original.size) / RATE < 0.03  # the same length, to 30 ms
    shape = np.corrcoef(_envelope(original), _envelope(heard[: original.size]))[0, 1]
    assert shape > 0.95, shape
    assert not list(tmp_path.glob(".playback-*")), "the scratch file was renamed into place"

    made = copy.stat().st_mtime_ns
    assert ensure_playback(audio) == copy and copy.stat().st_mtime_ns == made  # kept, not redone

    # the meeting gains audio: a new copy, and the old one goes
    with second.open("ab") as more:
        more.write(pcm[:3200])
    grown = MeetingAudio(7, [(first, half), (second, len(pcm) - half + 3200)], RATE)
    newer = ensure_playback(grown)
    assert newer != copy and newer.exists() and not copy.exists()
    assert copies_of(7, [first]) == [newer] and copies_of(8, [first]) == []


def _record(client: TestClient, pcm: bytes) -> int:
    with client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = int(start(ws, title="Playback")["meeting_id"])
        send_pcm(ws, pcm)
        stop(ws)
    return meeting_id


def _wait_for(folder: Path, pattern: str, timeout_s: float = 20.0) -> list[Path]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = list(folder.glob(pattern))
        if found:
            return found
        time.sleep(0.05)
    return []


def test_a_stopped_recording_gets_its_copy_which_is_served_by_range(
    user_client: TestClient, db: Session
) -> None:
    pcm = sentences_pcm([1, 2, 3], [4, 5])
    meeting_id = _record(user_client, pcm)
    recording = db.scalar(select(RecordingSession))
    assert recording is not None
    folder = Path(recording.audio_path).parent
    # the recorder enqueued the copy when the recording stopped: nobody asked for it yet
    made = _wait_for(folder, f"meeting-{meeting_id}-*.opus")
    assert len(made) == 1

    url = f"/api/meetings/{meeting_id}/audio?format=opus"
    whole = user_client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/ogg"
    assert whole.content == made[0].read_bytes() and whole.content[:4] == b"OggS"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline;")
    assert "Playback.opus" in whole.headers["content-disposition"]
    part = user_client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    outside = user_client.get(url, headers={"Range": f"bytes={len(whole.content) + 10}-"})
    assert outside.status_code == 416
    # the WAV is still every byte, and still the default
    wav = user_client.get(f"/api/meetings/{meeting_id}/audio")
    assert wav.headers["content-type"] == "audio/wav" and wav.content[44:] == pcm

    # the meeting page plays the copy, with the WAV for browsers without Opus
    page = user_client.get(f"/dashboard/meeting/{meeting_id}").text
    assert page.index("audio?format=opus") < page.index(f'/api/meetings/{meeting_id}/audio"')

    assert user_client.get(f"/api/meetings/{meeting_id}/audio?format=mp3").status_code == 422

    deleted = user_client.delete(
        f"/api/meetings/{meeting_id}", headers={"X-CSRF-Token": _csrf(user_client)}
    )
    assert deleted.status_code == 204
    assert not made[0].exists() and not Path(recording.audio_path).exists()


def _csrf(client: TestClient) -> str:
    return csrf_from(client.get("/settings").text)


def test_a_missing_copy_is_made_on_request(user_client: TestClient, db: Session) -> None:
    meeting_id = _record(user_client, sentences_pcm([1, 2]))
    recording = db.scalar(select(RecordingSession))
    assert recording is not None
    folder = Path(recording.audio_path).parent
    for copy in _wait_for(folder, f"meeting-{meeting_id}-*.opus"):
        os.unlink(copy)  # as for a meeting recorded before copies existed
    served = user_client.get(f"/api/meetings/{meeting_id}/audio?format=opus")
    assert served.status_code == 200 and served.content[:4] == b"OggS"
    assert len(list(folder.glob(f"meeting-{meeting_id}-*.opus"))) == 1


def test_no_copy_while_the_meeting_is_recorded_and_none_for_another_workspace(
    user_client: TestClient, other_client: TestClient
) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        send_pcm(ws, sentences_pcm([1]))
        time.sleep(1.2)  # an ack: the audio is on disk
        live = user_client.get(f"/api/meetings/{meeting_id}/audio?format=opus")
        assert live.status_code == 409 and live.json()["error"]["code"] == "meeting_live"
        assert user_client.get(f"/api/meetings/{meeting_id}/audio").status_code == 200
        stop(ws)
    for fmt in ("opus", "wav"):
        stranger = other_client.get(f"/api/meetings/{meeting_id}/audio?format={fmt}")
        assert stranger.status_code == 404
        missing = user_client.get(f"/api/meetings/{meeting_id + 1000}/audio?format={fmt}")
        assert missing.status_code == 404 and stranger.json() == missing.json()


@pytest.mark.parametrize("fmt", ["opus", "wav"])
def test_a_meeting_without_audio_says_so(user_client: TestClient, fmt: str) -> None:
    with user_client.websocket_connect("/ws/transcribe") as ws:
        meeting_id = start(ws)["meeting_id"]
        stop(ws)
    response = user_client.get(f"/api/meetings/{meeting_id}/audio?format={fmt}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "no_audio"
