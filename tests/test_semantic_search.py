"""Search by meaning and Ask, with the real embedding model, on SQLite and PostgreSQL: meetings
from the paraphrase set (bench/data/paraphrase), questions in words nobody said, the filters,
another workspace's passages never coming back, deletion taking the vectors with it, the API
with a token and bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bench.paraphrase import load_meetings, load_questions
from mina import store
from mina.models import Meeting, Passage, utcnow
from mina.semantic.ask import CANDIDATES, answer_locally
from mina.semantic.backfill import waiting_for_embedding
from mina.semantic.index import VectorIndex
from mina.semantic.job import embed_meeting_now
from mina.semantic.model import load_encoder
from mina.semantic.search import search
from mina.settings import Settings
from mina.web.app import create_app
from tests.meetingdata import Said, add_meeting, principal_of

ADA, GRACE = "ada@example.com", "grace@example.com"
MEETINGS = ("budget-review", "office-move", "vendor-negotiation")


def _add(db: Session, settings: Settings, email: str, meeting_key: str, days_ago: int) -> int:
    source = next(m for m in load_meetings() if m.id == meeting_key)
    said = [
        Said(seg.text, i * 4000, i * 4000 + 3500, seg.speaker)
        for i, seg in enumerate(source.segments)
    ]
    meeting = add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=settings.audio_dir,
        title=source.title,
        started_at=utcnow() - timedelta(days=days_ago),
        said=said,
        audio_s=1.0,
    )
    meeting.created_at = utcnow() - timedelta(days=days_ago)
    embed_meeting_now(db, meeting=meeting)
    db.commit()
    return meeting.id


@pytest.fixture
def archive(db: Session, settings: Settings, ada_token: str) -> dict[str, Any]:
    ids = {
        key: _add(db, settings, ADA, key, days)
        for key, days in zip(MEETINGS, (20, 10, 1), strict=True)
    }
    store.create_user(db, email=GRACE, password="a long password", name="Grace")
    db.commit()
    theirs = _add(db, settings, GRACE, "budget-review", 2)
    return {"ids": ids, "theirs": theirs, "token": ada_token}


def _get(client: TestClient, token: str, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _segment_ids(db: Session, meeting_id: int) -> list[int]:
    return [s.id for s in store.list_transcript(db, meeting_id=meeting_id)]


def test_questions_in_other_words_find_their_passage(
    client: TestClient, db: Session, archive: dict[str, Any]
) -> None:
    questions = [q for q in load_questions() if q.meeting in MEETINGS]
    assert len(questions) >= 15
    found = {"hybrid": 0, "semantic": 0, "keyword": 0}
    for question in questions:
        meeting_id = archive["ids"][question.meeting]
        segments = store.list_transcript(db, meeting_id=meeting_id)
        wanted = [segments[i].start_ms for i in question.answers]
        for mode in found:
            items = _get(
                client, archive["token"], "/api/search", q=question.question, mode=mode, limit=5
            )["items"]
            assert all(item["meeting_id"] != archive["theirs"] for item in items)
            # the answering line is in an item (a passage joins up to three lines)
            if any(
                item["meeting_id"] == meeting_id and item["start_ms"] <= at < item["end_ms"]
                for item in items
                for at in wanted
            ):
                found[mode] += 1
    recall = {mode: hits / len(questions) for mode, hits in found.items()}
    # words nobody said: keyword search finds almost none, meaning finds most; three meetings
    # have fewer distractors than bench semantic's twelve
    assert recall["keyword"] <= 0.2, recall
    assert recall["semantic"] >= 0.6 and recall["hybrid"] >= 0.6, recall


def test_filters_and_workspaces(client: TestClient, db: Session, archive: dict[str, Any]) -> None:
    token = archive["token"]
    office = archive["ids"]["office-move"]
    everything = _get(client, token, "/api/search", q="how much will it cost us", mode="semantic")
    assert {i["meeting_id"] for i in everything["items"]} >= {office}
    only = _get(
        client,
        token,
        "/api/search",
        q="how much will it cost us",
        mode="semantic",
        meeting_id=office,
    )["items"]
    assert only and {i["meeting_id"] for i in only} == {office}
    first = only[0]
    assert first["meeting_title"] and first["text"] and first["matched"] == ["meaning"]
    speaker = first["speaker"]
    by_speaker = _get(
        client,
        token,
        "/api/search",
        q="how much will it cost us",
        mode="semantic",
        speaker=speaker.upper(),
    )["items"]
    assert by_speaker and {i["speaker"] for i in by_speaker} == {speaker}
    recent = (utcnow() - timedelta(days=5)).date().isoformat()
    newer = _get(
        client,
        token,
        "/api/search",
        q="how much will it cost us",
        mode="hybrid",
        **{"from": recent},
    )["items"]
    assert {i["meeting_id"] for i in newer} <= {archive["ids"]["vendor-negotiation"]}
    # hybrid also finds the literal words, and says how each item matched
    literal = db.scalar(select(Passage.text).where(Passage.meeting_id == office)).split()[:3]
    mixed = _get(client, token, "/api/search", q=" ".join(literal))["items"]
    assert mixed and any("keyword" in i["matched"] for i in mixed), mixed
    # another workspace's meeting is not found, like a missing one
    for meeting_id in (archive["theirs"], 2_000_000_000):
        answer = client.get(
            "/api/search",
            params={"q": "rent", "meeting_id": meeting_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 404
    bad = client.get(
        "/api/search",
        params={"q": "x", "mode": "telepathy"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422
    backwards = client.get(
        "/api/search",
        params={"q": "rent", "from": "2026-03-05", "to": "2026-03-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert backwards.status_code == 422 and "from is after to" in backwards.text
    assert client.get("/api/search", params={"q": "rent"}).status_code == 401


def test_ask_answers_from_the_moment_and_says_when_it_cannot(
    client: TestClient, db: Session, archive: dict[str, Any]
) -> None:
    token = {"Authorization": f"Bearer {archive['token']}"}
    question = next(q for q in load_questions(split="tuning") if q.meeting == "office-move")
    answer = client.post("/api/ask", json={"question": question.question}, headers=token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["found"] is True and body["provider"] == "local", body
    cited = body["citations"][0]
    segments = {s.id: s for s in store.list_transcript(db, meeting_id=cited["meeting_id"])}
    assert cited["segment_id"] in segments
    assert cited["start_ms"] == segments[cited["segment_id"]].start_ms
    assert cited["text"] in body["answer"]
    nothing = client.post(
        "/api/ask",
        json={"question": "What is the boiling point of tungsten on Venus?"},
        headers=token,
    ).json()
    assert nothing["found"] is False and nothing["citations"] == []
    assert "could not find" in nothing["answer"]
    theirs = client.post(
        "/api/ask", json={"question": "rent?", "meeting_id": archive["theirs"]}, headers=token
    )
    assert theirs.status_code == 404


def test_ask_takes_the_passages_vectors_from_the_index(
    db: Session, archive: dict[str, Any]
) -> None:
    """Ask embeds only the statements: a hit found by meaning carries its passage's vector (the
    index's int8 row, as a unit vector), and the answers are those of embedding it again."""
    index = VectorIndex()
    encoder = load_encoder(index.model.name)
    workspace_id = principal_of(db, ADA).workspace.id
    # every third of the meetings' 27 questions: each is answered twice (about 1.5 s)
    questions = [q.question for q in load_questions() if q.meeting in MEETINGS][::3]
    same = 0
    for question in questions:
        hits = search(db, index, workspace_id=workspace_id, q=question, limit=CANDIDATES)
        carried = [h for h in hits if h.vector is not None]
        assert carried and all("meaning" in h.matched for h in carried)
        assert all(h.vector is None for h in hits if "meaning" not in h.matched)
        fresh = encoder.embed([h.text for h in carried])
        for hit, vector in zip(carried, fresh, strict=True):
            assert hit.vector is not None
            assert abs(float(np.linalg.norm(hit.vector)) - 1.0) < 1e-5
            assert float(hit.vector @ vector) > 0.99, hit.text
        taken = answer_locally(db, question, hits)
        embedded = answer_locally(db, question, [replace(h, vector=None) for h in hits])
        assert taken.found == embedded.found, question
        same += taken.citations[:1] == embedded.citations[:1]
    # int8 rounding may swap two near-equal passages, rarely
    assert same >= len(questions) - 1, (same, len(questions))


def test_meetings_embedded_with_another_model_are_named_at_start(
    db: Session, settings: Settings, archive: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A meeting embedded by a process configured with another model (here: its passages
    relabelled, as a worker with MINA_EMBEDDING_MODEL=mpnet would have written them) is not
    searched by meaning; the web process says so as it starts, and what to run."""
    assert waiting_for_embedding(db, model="minilm") is None
    assert "4 meeting(s)" in (waiting_for_embedding(db, model="mpnet") or "")
    budget = archive["ids"]["budget-review"]
    db.execute(update(Passage).where(Passage.meeting_id == budget).values(model="mpnet"))
    db.commit()
    note = waiting_for_embedding(db, model="minilm")
    assert note is not None and note.startswith("1 meeting(s)") and "mina embed" in note
    with caplog.at_level("WARNING", logger="mina.web.app"), TestClient(create_app(settings)) as c:
        found = _get(c, archive["token"], "/api/search", q="rent", mode="semantic")["items"]
        assert found and all(item["meeting_id"] != budget for item in found)
    assert any(r.getMessage() == note for r in caplog.records), caplog.text


def test_deleting_a_meeting_deletes_its_vectors(
    client: TestClient, db: Session, archive: dict[str, Any]
) -> None:
    office = archive["ids"]["office-move"]
    assert db.scalar(select(Passage.id).where(Passage.meeting_id == office)) is not None
    before = _get(
        client, archive["token"], "/api/search", q="moving to a new building", mode="semantic"
    )["items"]
    assert any(i["meeting_id"] == office for i in before)
    deleted = client.delete(
        f"/api/meetings/{office}", headers={"Authorization": f"Bearer {archive['token']}"}
    )
    assert deleted.status_code == 204
    db.expire_all()
    assert db.scalar(select(Passage.id).where(Passage.meeting_id == office)) is None
    after = _get(
        client, archive["token"], "/api/search", q="moving to a new building", mode="semantic"
    )["items"]
    assert all(i["meeting_id"] != office for i in after)
    assert db.get(Meeting, office) is None


def test_mina_embed_backfills_an_archive(
    db: Session, settings: Settings, cli_env: dict[str, str], ada_token: str
) -> None:
    from click.testing import CliRunner

    from mina.cli import main

    source = next(m for m in load_meetings() if m.id == "office-move")
    meeting = add_meeting(
        db,
        principal=principal_of(db, ADA),
        audio_dir=settings.audio_dir,
        title=source.title,
        started_at=utcnow(),
        said=[
            Said(s.text, i * 1000, i * 1000 + 900, s.speaker) for i, s in enumerate(source.segments)
        ],
        audio_s=1.0,
    )
    db.commit()
    assert db.scalar(select(Passage.id).where(Passage.meeting_id == meeting.id)) is None
    runner = CliRunner()
    done = runner.invoke(main, ["embed", "--all", "--missing"], env=cli_env)
    assert done.exit_code == 0, done.output
    assert "embedded for 1 meetings" in done.output
    db.expire_all()
    count = len(db.scalars(select(Passage.id).where(Passage.meeting_id == meeting.id)).all())
    assert count == len(source.segments) - 2  # one three-line window from each line on
    again = runner.invoke(main, ["embed", "--all", "--missing"], env=cli_env)
    assert "for 0 meetings" in again.output
    assert runner.invoke(main, ["embed"], env=cli_env).exit_code != 0  # ids or --all


def test_labelling_speakers_again_embeds_again(
    client: TestClient, db: Session, archive: dict[str, Any]
) -> None:
    from mina.models import Job

    meeting_id = archive["ids"]["office-move"]
    queued = client.post(
        f"/api/meetings/{meeting_id}/diarize",
        json={"speakers": 2},
        headers={"Authorization": f"Bearer {archive['token']}"},
    )
    assert queued.status_code == 202, queued.text
    names = db.scalars(select(Job.name).where(Job.meeting_id == meeting_id).order_by(Job.id))
    assert list(names)[-2:] == ["diarize", "embed"]


def test_demo_data_embed_gives_the_archive_vectors(
    db: Session, cli_env: dict[str, str], ada_token: str
) -> None:
    from click.testing import CliRunner

    from mina.cli import main

    runner = CliRunner()
    args = ["demo-data", "--meetings", "6", "--segments-per-meeting", "5", "--email", ADA]
    done = runner.invoke(main, [*args, "--embed"], env=cli_env)
    assert done.exit_code == 0, done.output
    completed = store.list_completed_meeting_ids(db)
    assert completed and "embedded" in done.output and "passages/s" in done.output
    embedded = set(db.scalars(select(Passage.meeting_id).distinct()))
    assert embedded == set(completed)  # every completed demo meeting, nothing else
    again = runner.invoke(main, args, env=cli_env)  # without --embed: no vectors
    assert again.exit_code == 0 and "embedded" not in again.output
    db.expire_all()
    assert set(db.scalars(select(Passage.meeting_id).distinct())) == embedded
