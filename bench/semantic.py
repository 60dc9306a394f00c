"""Search by meaning and Ask: paraphrase recall beside keyword search, and latency and memory
at 100 meetings and at 10k meetings / 1M segments.

1. Quality, on the paraphrase set (bench/data/paraphrase: 12 meetings, questions that share no
   content word with the line that answers them), tuning and held-out questions apart: recall
   @5 and @10 of keyword, semantic and hybrid search (a hit when a returned passage holds the
   answering line), and how often Ask answers (the paraphrase questions) or says it cannot
   (questions about things no meeting discussed).
2. Speed: a workspace of demo meetings (``mina demo-data``'s generator) whose every segment
   has a passage; the vectors are random unit vectors (search time does not depend on what
   they mean; embedding 1M passages takes the time ``bench embeddings`` prints per passage).
   Timed in process through ``mina.semantic.search``: semantic and hybrid p50/p95 (query
   embedding included), the index's first load and its memory. SQLite; PostgreSQL too when
   MINA_TEST_DATABASE_URL names a server.
Targets: recall@5 >= 0.85 (hybrid); p95 <= 100 ms (semantic) and 150 ms (hybrid) at 10k / 1M,
and at most 3x the p95 at 100.

BENCH_SEMANTIC_SIZES=small runs the 100-meeting size only; BENCH_SEMANTIC_ROUNDS sets the
queries per mode (default 40).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from bench.paraphrase import load_meetings, load_questions
from bench.stats import emit as emit_line
from bench.stats import percentile
from mina import store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.demodata import generate_meetings
from mina.migrate import upgrade_database
from mina.models import MeetingStatus, Passage, Segment
from mina.semantic.ask import answer_locally
from mina.semantic.index import VectorIndex, quantize
from mina.semantic.job import embed_meeting_now
from mina.semantic.model import DIMENSIONS, load_encoder
from mina.semantic.search import Filters, Mode, search
from mina.store.passages import bump_search_version

OFF_TOPIC = [
    "What is the boiling point of tungsten on Venus?",
    "Who won the football world cup in 1966?",
    "How do I bake sourdough bread?",
    "What is the capital of Australia?",
    "Recommend a good science fiction novel.",
    "How tall is Mount Everest?",
    "How many legs does a spider have?",
    "Explain quantum entanglement simply.",
]
QUERIES = [
    "what did we decide about server costs",
    "who is calling finance",
    "when does the new office open",
    "is the launch date moving",
    "how much will the contract cost",
    "who owns the follow up with the customer",
]


def emit(label: str, value: str) -> None:
    emit_line(f"{label:<58} {value}")


def _workspace(session: Session, email: str) -> tuple[int, int]:
    user = store.create_user(session, email=email, password="bench password 1", name="Bench")
    principal = store.get_principal(session, user=user)
    return principal.workspace.id, user.id


def quality(url: str) -> None:
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
    meetings = load_meetings()
    started = time.perf_counter()
    with transaction(sessions) as session:
        workspace_id, user_id = _workspace(session, "quality@example.com")
        base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        bulk = [
            store.BulkMeeting(
                m.title,
                MeetingStatus.COMPLETED,
                base + timedelta(days=i),
                base + timedelta(days=i, minutes=30),
                [
                    store.NewSegment(j, s.text, j * 4000, j * 4000 + 3500, 0.9, speaker=s.speaker)
                    for j, s in enumerate(m.segments)
                ],
            )
            for i, m in enumerate(meetings)
        ]
        store.bulk_add_meetings(
            session, workspace_id=workspace_id, organizer_id=user_id, meetings=bulk
        )
    with transaction(sessions) as session:
        ids = {}
        for m, meeting in zip(
            meetings,
            store.list_recent_meetings(session, workspace_id=workspace_id, limit=100)[::-1],
            strict=True,
        ):
            ids[m.id] = meeting.id
            embed_meeting_now(session, meeting=meeting)
    emit(
        "paraphrase set embedded",
        f"{time.perf_counter() - started:.1f} s for {sum(len(m.segments) for m in meetings)} lines",
    )
    index = VectorIndex()
    with sessions() as session:
        for split in ("tuning", "held_out"):
            questions = load_questions(split=split)
            for mode in Mode:
                for k in (5, 10):
                    hits = 0
                    for q in questions:
                        meeting_id = ids[q.meeting]
                        lines = store.list_transcript(session, meeting_id=meeting_id)
                        wanted = [lines[i].start_ms for i in q.answers]
                        found = search(
                            session,
                            index,
                            workspace_id=workspace_id,
                            q=q.question,
                            mode=mode,
                            limit=k,
                        )
                        if any(
                            h.meeting_id == meeting_id and h.start_ms <= at < h.end_ms
                            for h in found
                            for at in wanted
                        ):
                            hits += 1
                    emit(
                        f"recall@{k} {mode.value} ({split}, {len(questions)} questions)",
                        f"{hits / len(questions):.2f}",
                    )
            answered = right = 0
            for q in questions:
                hits = search(session, index, workspace_id=workspace_id, q=q.question, limit=12)
                answer = answer_locally(session, q.question, hits)
                answered += answer.found
                lines = store.list_transcript(session, meeting_id=ids[q.meeting])
                wanted = {lines[i].id for i in q.answers}
                right += bool(answer.citations) and answer.citations[0].segment_id in wanted
            emit(
                f"Ask answers / first citation is the answering line ({split})",
                f"{answered}/{len(questions)} / {right}/{len(questions)}",
            )
        refused = 0
        for question in OFF_TOPIC:
            hits = search(session, index, workspace_id=workspace_id, q=question, limit=12)
            refused += not answer_locally(session, question, hits).found
        emit("Ask says it cannot (off-topic questions)", f"{refused}/{len(OFF_TOPIC)}")
    engine.dispose()


def fill(url: str, meetings: int, per_meeting: int) -> int:
    """A workspace of demo meetings, one passage (a random vector) per segment."""
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
    rng = np.random.default_rng(7)
    with transaction(sessions) as session:
        workspace_id, user_id = _workspace(session, "speed@example.com")
    batch: list[store.BulkMeeting] = []

    def flush() -> None:
        with transaction(sessions) as session:
            store.bulk_add_meetings(
                session, workspace_id=workspace_id, organizer_id=user_id, meetings=batch
            )
        batch.clear()

    now = datetime.now(UTC)
    for demo in generate_meetings(meetings, per_meeting, now=now, seed=3):
        batch.append(
            store.BulkMeeting(demo.title, demo.status, demo.start, demo.end, demo.segments)
        )
        if sum(len(b.segments) for b in batch) >= 20_000:
            flush()
    flush()
    with sessions() as session:
        last = 0
        while True:
            rows = session.execute(
                select(
                    Segment.id,
                    Segment.meeting_id,
                    Segment.start_ms,
                    Segment.end_ms,
                    Segment.speaker,
                    Segment.text,
                )
                .where(Segment.id > last)
                .order_by(Segment.id)
                .limit(20_000)
            ).all()
            if not rows:
                break
            vectors = rng.standard_normal((len(rows), DIMENSIONS)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            packed = quantize(vectors)
            session.execute(
                insert(Passage),
                [
                    {
                        "workspace_id": workspace_id,
                        "meeting_id": r[1],
                        "segment_id": r[0],
                        "start_ms": r[2],
                        "end_ms": r[3],
                        "speaker": r[4],
                        "text": r[5],
                        "vector": v,
                        "scale": s,
                        "created_at": now,
                    }
                    for r, (v, s) in zip(rows, packed, strict=True)
                ],
            )
            session.commit()
            last = rows[-1][0]
        bump_search_version(session, workspace_id=workspace_id)
        session.commit()
        count = session.scalar(text("SELECT count(*) FROM passages")) or 0
    engine.dispose()
    return int(count)


def speed(label: str, url: str, rounds: int) -> dict[str, float]:
    engine = create_db_engine(url)
    sessions = create_session_factory(engine)
    index = VectorIndex()
    load_encoder().embed(["warm up"])
    results = {}
    with sessions() as session:
        workspace_id = session.scalar(text("SELECT workspace_id FROM passages LIMIT 1"))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        search(session, index, workspace_id=workspace_id, q="warm up", mode=Mode.SEMANTIC)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
        loaded = f"{time.perf_counter() - started:.2f} s, {index.memory_bytes() / 1e6:.0f} MB"
        emit(f"{label}: index first load", f"{loaded} (peak RSS +{grown:.0f} MB)")
        for mode in (Mode.SEMANTIC, Mode.HYBRID, Mode.KEYWORD):
            times = []
            for i in range(rounds):
                q = QUERIES[i % len(QUERIES)]
                t = time.perf_counter()
                search(session, index, workspace_id=workspace_id, q=q, mode=mode, limit=20)
                times.append((time.perf_counter() - t) * 1000)
            results[mode.value] = percentile(times, 95)
            emit(
                f"{label}: {mode.value}",
                f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms",
            )
        t = time.perf_counter()
        for _ in range(rounds):
            search(
                session,
                index,
                workspace_id=workspace_id,
                q=QUERIES[0],
                mode=Mode.SEMANTIC,
                filters=Filters(speaker="Ada"),
            )
        emit(
            f"{label}: semantic with a speaker filter",
            f"mean {(time.perf_counter() - t) * 1000 / rounds:.1f} ms",
        )
    engine.dispose()
    return results


def run(options: list[str] | None = None) -> None:
    rounds = int(os.environ.get("BENCH_SEMANTIC_ROUNDS", "40"))
    sizes = {"small": (100, 100), "large": (10_000, 100)}
    if os.environ.get("BENCH_SEMANTIC_SIZES") == "small":
        sizes.pop("large")
    with tempfile.TemporaryDirectory(prefix="mina-bench-semantic-") as tmp:
        quality(f"sqlite:///{Path(tmp) / 'quality.db'}")
        p95: dict[str, dict[str, float]] = {}
        for name, (meetings, per_meeting) in sizes.items():
            url = f"sqlite:///{Path(tmp) / f'{name}.db'}"
            started = time.perf_counter()
            count = fill(url, meetings, per_meeting)
            emit(
                f"sqlite {name}: {meetings} meetings",
                f"{count} passages stored in {time.perf_counter() - started:.0f} s",
            )
            p95[name] = speed(f"sqlite {name}", url, rounds)
        if "large" in p95:
            for mode in ("semantic", "hybrid"):
                emit(
                    f"{mode} p95 large / small",
                    f"{p95['large'][mode] / max(p95['small'][mode], 1e-9):.1f}x",
                )
