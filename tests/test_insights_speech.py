"""What a new user sees after uploading a meeting: real speech (an espeak-ng meeting of three
voices from bench/insights), the real speech model, speaker labels, then the local provider's
summary, action items with owners and due dates, decisions and tasks, over the API. SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench.insights.material import load_scripts, script_audio
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import signup
from tests.uploadhelp import upload, wait_job, write_wav

pytestmark = pytest.mark.slow


@pytest.fixture
def speech_client(settings: Settings) -> Iterator[TestClient]:
    real = settings.model_copy(update={"engine": "whisper", "vad": "silero"})
    with TestClient(create_app(real)) as client:
        signup(client, "ada@example.com", "Ada Lovelace")
        yield client


def wait_insights(client: TestClient, meeting_id: int, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        meeting = client.get(f"/api/meetings/{meeting_id}").json()
        if all(state in ("done", "failed", "off") for state in meeting["analysis"].values()):
            return dict(meeting)
        assert time.monotonic() < deadline, meeting
        time.sleep(0.2)


def test_an_uploaded_meeting_gets_its_summary_actions_and_tasks(
    speech_client: TestClient, tmp_path: Path
) -> None:
    client = speech_client
    script = next(s for s in load_scripts() if s.name == "budget_review")
    spoken = script_audio(script)
    wav = write_wav(tmp_path / "budget.wav", spoken.pcm.tobytes())  # type: ignore[attr-defined]
    started = upload(client, wav, title=script.title, speakers="3").json()
    assert wait_job(client, started["job_id"], timeout_s=300)[0]["status"] == "done"
    meeting_id = started["meeting_id"]
    meeting = wait_insights(client, meeting_id)
    assert meeting["analysis"] == {"speakers": "done", "insights": "done", "embeddings": "done"}

    insights = client.get(f"/api/meetings/{meeting_id}/insights").json()
    assert insights["provider"] == "local" and insights["stale"] is False
    segments = client.get(f"/api/meetings/{meeting_id}/transcript").json()["segments"]
    starts = {s["id"]: s["start_ms"] for s in segments}
    speakers = {s["speaker"] for s in segments}
    assert len(speakers) == 3, speakers
    assert 3 <= len(insights["summary"]) <= 7
    for item in insights["summary"] + insights["action_items"] + insights["decisions"]:
        assert starts[item["segment_id"]] == item["start_ms"]

    # "George, can you send me a cost reduction plan ... by April 10th?" (heard as "my April
    # 10"), "I'll confirm the hiring budget with the CFO tomorrow."
    actions = insights["action_items"]
    plan = next(a for a in actions if "cost reduction plan" in a["text"].lower())
    assert plan["owner"] == "George" and plan["due_date"].endswith("-04-10"), plan
    hiring = next(a for a in actions if "hiring budget" in a["text"].lower())
    assert hiring["owner"] in speakers, hiring  # the speaker who said "I'll"
    assert hiring["due_date"] is not None
    assert any("trade show" in d["text"].lower() for d in insights["decisions"])
    assert all(s["sentiment"] is not None for s in segments)

    tasks = client.get(f"/api/tasks?meeting_id={meeting_id}").json()
    assert tasks["total"] == len(actions)
    assert {t["id"] for t in tasks["items"]} == {a["task_id"] for a in actions}
    assert any(t["assignee"] == "George" for t in tasks["items"])
