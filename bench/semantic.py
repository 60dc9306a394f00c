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
   BENCH_SEMANTIC_PG=1 and MINA_TEST_DATABASE_URL names a server. Then what a change costs the
   next search (a new meeting, a deleted one) and searches while the workspace is rebuilt.
Targets: recall@5 >= 0.85 (hybrid); p95 <= 100 ms (semantic) and 150 ms (hybrid) at 10k / 1M,
and at most 3x the p95 at 100.

Options (environment): BENCH_SEMANTIC_SIZES, a comma list of small (100 meetings), medium
(1,000) and large (10,000; default small,large); BENCH_SEMANTIC_ROUNDS, the queries per mode
(default 40); BENCH_SEMANTIC_REAL=N, also N demo meetings embedded with the model, timed, with
an HNSW graph measured beside exact search; BENCH_SEMANTIC_PG=1, the sizes on PostgreSQL too
(MINA_TEST_DATABASE_URL's server, a fresh database per size), ``only`` on PostgreSQL alone;
BENCH_SEMANTIC_QUALITY=0 skips the paraphrase set.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from mina.models import Meeting, MeetingStatus, Passage, Segment
from mina.semantic.ask import answer_locally
from mina.semantic.backfill import embed_meetings
from mina.semantic.index import VectorIndex, _load, quantize
from mina.semantic.job import embed_meeting_now
from mina.semantic.model import DIMENSIONS, load_encoder
from mina.semantic.search import Filters, Mode, search
from mina.store.passages import bump_search_version, search_version

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


def fill(url: str, meetings: int, per_meeting: int, *, embed: bool = False) -> int:
    """A workspace of demo meetings, one passage (a random vector) per segment; or, with
    ``embed``, the completed meetings embedded with the model, as ``demo-data --embed`` does."""
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
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
    if embed:
        started = time.perf_counter()
        with sessions() as session:
            ids = store.list_completed_meeting_ids(session)
        count = embed_meetings(sessions, ids)
        took = time.perf_counter() - started
        emit(
            f"embedded {len(ids)} completed meetings",
            f"{count} passages in {took:.0f} s ({count / took:.0f} passages/s; {load()})",
        )
    else:
        with sessions() as session:
            _random_passages(session, workspace_id, Segment.id > 0, now)
    with sessions() as session:
        count = session.scalar(text("SELECT count(*) FROM passages")) or 0
    engine.dispose()
    return int(count)


def _random_passages(session: Session, workspace_id: int, which: Any, now: datetime) -> None:
    """A passage with a random unit vector for each segment ``which`` selects."""
    rng = np.random.default_rng(7)
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
            .where(which, Segment.id > last)
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


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _timed(run: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    return times


def _ms(times: list[float]) -> str:
    return f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms"


def speed(label: str, url: str, rounds: int, *, approximate: bool = False) -> dict[str, float]:
    engine = create_db_engine(url)
    sessions = create_session_factory(engine)
    index = VectorIndex()
    load_encoder().embed(["warm up"])
    results = {}
    with sessions() as session:
        workspace_id = int(session.scalar(text("SELECT workspace_id FROM passages LIMIT 1")))

        def ask(q: str, mode: Mode = Mode.SEMANTIC, filters: Filters | None = None) -> None:
            search(session, index, workspace_id=workspace_id, q=q, mode=mode, filters=filters)

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        ask("warm up")
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
        loaded = f"{time.perf_counter() - started:.2f} s, {index.memory_bytes() / 1e6:.0f} MB"
        emit(f"{label}: index first load", f"{loaded} (peak RSS +{grown:.0f} MB; {load()})")
        for mode in (Mode.SEMANTIC, Mode.HYBRID, Mode.KEYWORD):
            queries = iter(QUERIES * rounds)
            times = _timed(lambda m=mode, q=queries: ask(next(q), m), rounds)  # type: ignore[misc]
            results[mode.value] = percentile(times, 95)
            emit(f"{label}: {mode.value}", f"{_ms(times)} ({load()})")
        for name, filters in (
            ("a speaker", Filters(speaker="Priya")),
            ("one meeting", Filters(meeting_id=_some_meeting(session, workspace_id))),
        ):
            times = _timed(lambda f=filters: ask(QUERIES[0], filters=f), rounds)  # type: ignore[misc]
            emit(f"{label}: semantic, filtered to {name}", _ms(times))
        if approximate:
            _approximate(label, index.current(session, workspace_id), rounds)
        _changes(label, session, index, workspace_id, ask)
    engine.dispose()
    return results


def _approximate(label: str, snapshot: Any, rounds: int) -> None:
    """What an HNSW graph (usearch, int8, cosine) of the same vectors would give: its build
    time and memory, its search time beside the exact search's, and how many of the exact top
    20 it finds."""
    from usearch.index import Index
    from usearch.index import search as exact

    vectors = snapshot.columns.vectors[: snapshot.size]
    keys = np.arange(len(vectors), dtype=np.uint64)
    graph = Index(ndim=DIMENSIONS, metric="cos", dtype="i8")
    started = time.perf_counter()
    graph.add(keys, vectors, threads=2)
    emit(
        f"{label}: HNSW build ({len(vectors)} vectors)",
        f"{time.perf_counter() - started:.1f} s, {graph.memory_usage / 1e6:.0f} MB ({load()})",
    )
    queries = load_encoder().embed(QUERIES)
    int8 = [np.round(q * 127 / np.abs(q).max()).astype(np.int8) for q in queries]
    found = total = 0
    for q in int8:
        truth = set(exact(vectors, q, 20, "cos", exact=True, threads=2).keys.tolist())
        found += len(truth & set(graph.search(q, 20).keys.tolist()))
        total += len(truth)
    hnsw = _timed(lambda: graph.search(int8[0], 40), rounds)
    flat = _timed(lambda: exact(vectors, int8[0], 40, "cos", exact=True, threads=2), rounds)
    emit(f"{label}: HNSW search (k=40)", f"{_ms(hnsw)}; exact {_ms(flat)}")
    emit(f"{label}: HNSW recall of the exact top 20", f"{found / total:.2f}")


def _some_meeting(session: Session, workspace_id: int) -> int:
    return int(session.scalar(text("SELECT max(meeting_id) FROM passages")))


def _changes(
    label: str,
    session: Session,
    index: VectorIndex,
    workspace_id: int,
    ask: Callable[[str], None],
) -> None:
    """What a change costs the next search (the index catches up in place), and searches while
    the workspace is rebuilt in the background."""
    user_id = session.scalar(text("SELECT id FROM users WHERE email = 'speed@example.com'"))
    now = datetime.now(UTC)
    demo = next(iter(generate_meetings(1, 100, now=now, seed=99)))
    store.bulk_add_meetings(
        session,
        workspace_id=workspace_id,
        organizer_id=user_id,
        meetings=[store.BulkMeeting(demo.title, demo.status, demo.start, demo.end, demo.segments)],
    )
    session.commit()
    meeting_id = int(session.scalar(text("SELECT max(id) FROM meetings")))
    _random_passages(session, workspace_id, Segment.meeting_id == meeting_id, now)
    t = time.perf_counter()
    ask(QUERIES[1])
    emit(
        f"{label}: search after a new meeting (catch-up)",
        f"{(time.perf_counter() - t) * 1000:.0f} ms",
    )
    meeting = session.get(Meeting, meeting_id)
    assert meeting is not None
    store.delete_meeting(session, meeting=meeting)
    session.commit()
    t = time.perf_counter()
    ask(QUERIES[2])
    emit(
        f"{label}: search after a deletion (catch-up)", f"{(time.perf_counter() - t) * 1000:.0f} ms"
    )
    slot = index._slot(workspace_id)
    rebuilt: list[float] = []

    def rebuild() -> None:  # what a background rebuild does, holding the workspace's lock
        with slot.lock, Session(session.get_bind()) as own:
            started = time.perf_counter()
            version = search_version(own, workspace_id=workspace_id)
            slot.snapshot = _load(own, workspace_id, version)
            rebuilt.append(time.perf_counter() - started)

    bump_search_version(session, workspace_id=workspace_id)
    session.commit()
    thread = threading.Thread(target=rebuild)
    thread.start()
    times = []
    while thread.is_alive() and len(times) < 200:
        times.extend(_timed(lambda: ask(QUERIES[3]), 1))
    thread.join()
    emit(
        f"{label}: semantic during a {rebuilt[0]:.1f} s rebuild",
        f"{_ms(times)} over {len(times)} searches",
    )


def run(options: list[str] | None = None) -> None:
    rounds = int(os.environ.get("BENCH_SEMANTIC_ROUNDS", "40"))
    known = {"small": (100, 100), "medium": (1_000, 100), "large": (10_000, 100)}
    chosen = os.environ.get("BENCH_SEMANTIC_SIZES", "small,large").split(",")
    sizes = {name: known[name] for name in chosen if name in known}
    real = int(os.environ.get("BENCH_SEMANTIC_REAL", "0"))
    with tempfile.TemporaryDirectory(prefix="mina-bench-semantic-") as tmp:
        if os.environ.get("BENCH_SEMANTIC_QUALITY", "1") != "0":
            quality(f"sqlite:///{Path(tmp) / 'quality.db'}")
        urls: dict[str, Callable[[str], str]] = {}
        on_pg = os.environ.get("BENCH_SEMANTIC_PG", "0")
        if on_pg != "only":
            urls["sqlite"] = lambda name: f"sqlite:///{Path(tmp) / f'{name}.db'}"
        server = os.environ.get("MINA_TEST_DATABASE_URL")
        if server and on_pg in ("1", "only"):
            urls["postgresql"] = lambda name: _fresh_pg(server, f"mina_bench_semantic_{name}")
        for db, url_of in urls.items():
            if real:
                url = url_of("real")
                started = time.perf_counter()
                count = fill(url, real, 100, embed=True)
                emit(
                    f"{db} real: {real} meetings, embedded",
                    f"{count} passages stored in {time.perf_counter() - started:.0f} s",
                )
                speed(f"{db} real ({count} passages)", url, rounds, approximate=True)
            p95: dict[str, dict[str, float]] = {}
            for name, (meetings, per_meeting) in sizes.items():
                url = url_of(name)
                started = time.perf_counter()
                count = fill(url, meetings, per_meeting)
                emit(
                    f"{db} {name}: {meetings} meetings",
                    f"{count} passages stored in {time.perf_counter() - started:.0f} s ({load()})",
                )
                p95[name] = speed(f"{db} {name}", url, rounds)
            small, big = "small", next((n for n in ("large", "medium") if n in p95), None)
            if small in p95 and big:
                for mode in ("semantic", "hybrid"):
                    emit(
                        f"{db}: {mode} p95 {big} / small",
                        f"{p95[big][mode] / max(p95[small][mode], 1e-9):.1f}x",
                    )


def _fresh_pg(server: str, name: str) -> str:
    """A new, empty database on the server (dropped first if a past run left it)."""
    engine = create_db_engine(server)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name
