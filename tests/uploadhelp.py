"""Helpers for upload tests: real speech in the formats people bring, made with ffmpeg from
the speech clips, and drivers for the upload and job routes."""

from __future__ import annotations

import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from mina.settings import Settings
from tests.browser import make_fake_microphone

# Tuning clips only (tests/data/speech/README.md): jfk, 0870 and 0880, 0.7 s apart, 24 s in all.
CLIPS = [
    "jfk",
    "sense_and_sensibility_01_austen_64kb-0870",
    "sense_and_sensibility_01_austen_64kb-0880",
]
# tiny.en offline (beam 5, VAD) on these 52 words: 0.019-0.038 across the formats below
# ("ill-disposed" heard as "old-sposed"); the bound leaves room for other machines and builds.
WER_BOUND = 0.15
FORMATS = {
    "mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
    "ogg-opus": (".ogg", ["-c:a", "libopus", "-b:a", "32k"]),
    "m4a-aac": (".m4a", ["-c:a", "aac", "-b:a", "64k"]),
    "webm-opus": (".webm", ["-c:a", "libopus", "-b:a", "48k"]),
    "wav-8khz-stereo": (".wav", ["-ar", "8000", "-ac", "2", "-c:a", "pcm_s16le"]),
    "mp4-video": (".mp4", ["-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k", "-shortest"]),
}


@dataclass(frozen=True)
class SpeechFiles:
    files: dict[str, Path]
    long: Path  # the clips three times over, as MP3
    reference: str
    duration_s: float


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120
    )


def make_speech_files(folder: Path) -> SpeechFiles:
    """The clips as one recording in every format of FORMATS, and three times over as MP3."""
    source = make_fake_microphone(folder / "speech.wav", CLIPS, tail_s=1.0)
    with wave.open(str(source.wav), "rb") as handle:
        duration_s = handle.getnframes() / handle.getframerate()
    files = {}
    for name, (suffix, options) in FORMATS.items():
        target = folder / f"meeting-{name}{suffix}"
        inputs = ["-i", str(source.wav)]
        if name == "mp4-video":
            inputs = ["-f", "lavfi", "-i", "color=c=navy:s=160x120:r=5", *inputs]
        ffmpeg(*inputs, *options, str(target))
        files[name] = target
    long = folder / "long.mp3"
    ffmpeg(
        "-stream_loop", "2", "-i", str(source.wav), "-c:a", "libmp3lame", "-b:a", "64k", str(long)
    )
    return SpeechFiles(files, long, source.reference, duration_s)


def write_wav(path: Path, pcm: bytes, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def upload(
    client: TestClient, path: Path, *, field: str = "file", **form: str
) -> Any:  # an httpx.Response
    with path.open("rb") as handle:
        return client.post(
            "/api/transcriptions",
            files={field: (path.name, handle, "application/octet-stream")},
            data=form,
            headers=csrf_header(client),
        )


def csrf_header(client: TestClient) -> dict[str, str]:
    """The CSRF header a page's script sends with cookie-authenticated writes."""
    html = client.get("/settings").text
    token = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return {"X-CSRF-Token": token}


def wait_job(
    client: httpx.Client, job_id: int, timeout_s: float = 60, poll_s: float = 0.02
) -> tuple[dict[str, Any], list[float]]:
    """Poll the job until it ends (a test client, or an HTTP client of a server, signed in);
    the last answer and every progress value seen."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        seen.append(job["progress"])
        if job["status"] in ("done", "failed"):
            return job, seen
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout_s} s"
        time.sleep(poll_s)


def leftovers(settings: Settings) -> list[Path]:
    return [p for p in settings.upload_dir.rglob("*") if p.is_file()]
