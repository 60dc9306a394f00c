"""Exports carry a meeting's insights: md, txt, docx and pdf get Summary, Action items (owner,
due date, timestamp, a box ticked when the task is done), Decisions and Open questions sections
before the transcript; json gets an ``insights`` object; subtitles stay as they were. A meeting
without insights gets no section and ``insights: null``. Both databases."""

from __future__ import annotations

import io
import json
from datetime import date

import docx
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.insights.base import ActionItem, Insights, Point, Sentiment, Topic
from mina.insights.job import store_insights
from mina.models import Meeting
from mina.settings import Settings
from tests.exporthelp import CYRILLIC, HOUR_TEXT, SPEAKERS, MadeMeeting, make_meeting
from tests.uploadhelp import csrf_header

SUMMARY = "The budget for the first quarter is approved."
ACTION = "Grace will send the hosting quote"
ACTION_RU = "Дмитрий пришлёт отчёт о тестировании"
DECISION = "We stay on the current hosting plan."
QUESTION = "Who owns the migration?"
DUE = date(2026, 12, 7)


@pytest.fixture
def made(user_client: TestClient, db: Session, settings: Settings) -> MadeMeeting:
    return make_meeting(db, email="ada@example.com", audio_dir=settings.data_dir / "audio")


def _add_insights(db: Session, meeting_id: int) -> dict[str, int]:
    """Insights as the job stores them: the action item cites the segment in the second hour.
    Returns the cited segments' ids by role."""
    segments = [s for s in store.list_transcript(db, meeting_id=meeting_id) if s.display_text]
    hour = next(s for s in segments if s.display_text == HOUR_TEXT)
    russian = next(s for s in segments if s.display_text == CYRILLIC)
    first = segments[0]
    insights = Insights(
        provider="scripted",
        model="rules v1",
        summary=(Point(SUMMARY, first.id),),
        action_items=(
            ActionItem(ACTION, hour.id, SPEAKERS[1], DUE),
            ActionItem(ACTION_RU, russian.id, None, None),
        ),
        decisions=(Point(DECISION, first.id),),
        questions=(Point(QUESTION, russian.id),),
        topics=(Topic("budget", 1.0), Topic("hosting", 0.5)),
        sentiment=Sentiment(overall=0.25, by_speaker={SPEAKERS[0]: 0.5}),
    )
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None
    store_insights(db, meeting=meeting, insights=insights)
    db.commit()
    return {"first": first.id, "hour": hour.id, "russian": russian.id}


def _export(client: TestClient, meeting_id: int, fmt: str) -> bytes:
    response = client.get(f"/api/meetings/{meeting_id}/export/{fmt}")
    assert response.status_code == 200, response.text
    return response.content


def _task_of(client: TestClient, meeting_id: int, title_start: str) -> int:
    items = client.get("/api/tasks", params={"meeting_id": meeting_id}).json()["items"]
    return int(next(t["id"] for t in items if t["title"].startswith(title_start)))


def _in_order(text: str, *parts: str) -> None:
    at = [text.index(part) for part in parts]
    assert at == sorted(at), list(zip(parts, at, strict=True))


def test_md_and_txt_have_the_sections_before_the_transcript(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    _add_insights(db, made.id)
    md = _export(user_client, made.id, "md").decode()
    _in_order(
        md, "## Summary", "## Action items", "## Decisions", "## Open questions", "## Transcript"
    )
    assert f"- {SUMMARY} \\[" in md
    assert f"- [ ] {ACTION} \\[1:02:03\\] *{SPEAKERS[1]} · due 7 December 2026*" in md
    assert f"- [ ] {ACTION_RU} \\[" in md
    assert f"- {DECISION} \\[" in md and f"- {QUESTION} \\[" in md
    assert "*Made by scripted (rules v1) on " in md

    txt = _export(user_client, made.id, "txt").decode()
    _in_order(txt, "\nSummary\n-------", "\nAction items\n", "\nDecisions\n", "\nTranscript\n")
    assert f"[ ] {ACTION} [1:02:03] ({SPEAKERS[1]} · due 7 December 2026)" in txt

    # a task done shows ticked; a deleted one stays an item, unticked
    task = _task_of(user_client, made.id, "Grace will send")
    done = user_client.patch(
        f"/api/tasks/{task}", json={"status": "done"}, headers=csrf_header(user_client)
    )
    assert done.status_code == 200, done.text
    assert f"- [x] {ACTION} \\[1:02:03\\]" in _export(user_client, made.id, "md").decode()
    assert f"[x] {ACTION} [1:02:03]" in _export(user_client, made.id, "txt").decode()


def test_stale_insights_say_so(user_client: TestClient, db: Session, made: MadeMeeting) -> None:
    _add_insights(db, made.id)
    store.mark_insights_stale(db, meeting_id=made.id)
    db.commit()
    assert "edited after they were made" in _export(user_client, made.id, "md").decode()
    assert json.loads(_export(user_client, made.id, "json"))["insights"]["stale"] is True


def test_json_carries_the_insights_on_the_export_timeline(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    cited = _add_insights(db, made.id)
    body = json.loads(_export(user_client, made.id, "json"))
    insights = body["insights"]
    assert set(insights) == {
        "summary",
        "action_items",
        "decisions",
        "questions",
        "topics",
        "sentiment",
        "provider",
        "model",
        "generated_at",
        "stale",
    }
    assert insights["provider"] == "scripted" and insights["model"] == "rules v1"
    assert insights["generated_at"].endswith("Z") and insights["stale"] is False
    start = {s["id"]: s["start_ms"] for s in body["segments"]}
    assert insights["summary"] == [
        {"text": SUMMARY, "segment_id": cited["first"], "start_ms": start[cited["first"]]}
    ]
    first, second = insights["action_items"]
    assert first["text"] == ACTION and first["owner"] == SPEAKERS[1]
    assert first["due_date"] == "2026-12-07" and first["task_status"] == "open"
    assert first["segment_id"] == cited["hour"] and first["start_ms"] == start[cited["hour"]]
    assert first["start_ms"] >= 3_723_456, "on the meeting's audio timeline, like the segments"
    assert second["owner"] is None and second["due_date"] is None
    assert [d["text"] for d in insights["decisions"]] == [DECISION]
    assert [q["text"] for q in insights["questions"]] == [QUESTION]
    assert insights["topics"] == [
        {"label": "budget", "weight": 1.0},
        {"label": "hosting", "weight": 0.5},
    ]
    assert insights["sentiment"] == {"overall": 0.25, "by_speaker": {SPEAKERS[0]: 0.5}}
    api = user_client.get(f"/api/meetings/{made.id}/insights").json()
    assert first["task_id"] == api["action_items"][0]["task_id"] is not None

    # a deleted task: the item stays, without a task
    gone = user_client.delete(f"/api/tasks/{first['task_id']}", headers=csrf_header(user_client))
    assert gone.status_code == 204
    again = json.loads(_export(user_client, made.id, "json"))["insights"]["action_items"][0]
    assert again["task_id"] is None and again["task_status"] is None


def test_docx_has_the_sections_before_the_transcript(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    _add_insights(db, made.id)
    document = docx.Document(io.BytesIO(_export(user_client, made.id, "docx")))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Summary", "Action items", "Decisions", "Open questions", "Transcript"]
    paragraphs = [p.text for p in document.paragraphs]
    assert f"\u2610 {ACTION}  {SPEAKERS[1]} · due 7 December 2026  [1:02:03]" in paragraphs
    assert any(p.startswith(f"\u2610 {ACTION_RU}  [") for p in paragraphs), paragraphs
    item = next(p for p in document.paragraphs if ACTION in p.text)
    assert item.style.name == "List Bullet"
    assert any(p.startswith("Made by scripted (rules v1) on ") for p in paragraphs)


def test_pdf_has_the_sections_before_the_transcript(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    _add_insights(db, made.id)
    reader = pypdf.PdfReader(io.BytesIO(_export(user_client, made.id, "pdf")))
    flat = " ".join("\n".join(page.extract_text() for page in reader.pages).split())
    _in_order(flat, "Summary", SUMMARY, "Action items", ACTION, "Decisions", DECISION)
    _in_order(flat, "Open questions", QUESTION, "Transcript", HOUR_TEXT)
    assert f"1:02:03 \u2610 {ACTION} {SPEAKERS[1]} · due 7 December 2026" in flat
    assert ACTION_RU in flat


def test_subtitles_are_unchanged_and_no_insights_means_no_sections(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    before = {fmt: _export(user_client, made.id, fmt) for fmt in ("srt", "vtt", "md", "txt")}
    assert json.loads(_export(user_client, made.id, "json"))["insights"] is None
    for fmt in ("md", "txt"):
        assert "Summary" not in before[fmt].decode() and "Action items" not in before[fmt].decode()
    document = docx.Document(io.BytesIO(_export(user_client, made.id, "docx")))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == ["Transcript"]
    _add_insights(db, made.id)
    for fmt in ("srt", "vtt"):
        assert _export(user_client, made.id, fmt) == before[fmt], fmt


def test_empty_insights_add_no_sections(
    user_client: TestClient, db: Session, made: MadeMeeting
) -> None:
    meeting = db.get(Meeting, made.id)
    assert meeting is not None
    store_insights(db, meeting=meeting, insights=Insights("scripted", "rules v1"))
    db.commit()
    md = _export(user_client, made.id, "md").decode()
    assert "## Summary" not in md and "Made by" not in md
    body = json.loads(_export(user_client, made.id, "json"))
    assert body["insights"]["summary"] == [] and body["insights"]["provider"] == "scripted"
