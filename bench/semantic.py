"""Search by meaning and Ask: paraphrase recall beside keyword search, and latency and memory
at 100 meetings and at 10k meetings / 1M segments.

1. Quality, on the paraphrase set (bench/data/paraphrase: 12 meetings, questions that share no
   content word with the line that answers them), tuning and held-out questions apart: recall
   @5 and @10 of keyword, semantic and hybrid search (a hit when a returned passage holds the
   answering line), and how often Ask answers (the paraphrase questions; p50/p95 of one Ask,
   search included, through ``mina.semantic.ask.ask`` with the local answer) or says it cannot
   (questions about things no meeting discussed).
2. Speed: a workspace of demo meetings (``mina demo-data``'s generator) whose every segment
   has a passage. Embedding 1M passages takes hours (``bench embeddings`` prints the time a
   passage), so each vector is one of 2,000 embedded demo sentences' plus noise: search time
   does not depend on what vectors mean, but what the shortlist of a large workspace misses
   does, and uniformly random vectors have none of the structure real ones have.
   Timed in process through ``mina.semantic.search``: semantic and hybrid p50/p95 (query
   embedding included), the index's first load and its memory. SQLite; PostgreSQL too when
   BENCH_SEMANTIC_PG=1 and MINA_TEST_DATABASE_URL names a server. Then the vector search alone
   with and without the shortlist and how much of every row's top 5 and top 20 the shortlist
   finds; what a change costs the next search (a new meeting, a deleted one); searches while
   the workspace is rebuilt; and the paraphrase set's recall@5 with the workspace's passages
   around it, with the shortlist and without.
Targets: recall@5 >= 0.85 (hybrid); p95 <= 100 ms (semantic) and 150 ms (hybrid) at 10k / 1M,
and at most 3x the p95 at 100.

Options (environment): BENCH_SEMANTIC_SIZES, a comma list of small (100 meetings), medium
(1,000) and large (10,000; default small,large); BENCH_SEMANTIC_ROUNDS, the queries per mode
(default 40); BENCH_SEMANTIC_REAL=N, also N demo meetings embedded with the model and timed;
BENCH_SEMANTIC_PG=1, the sizes on PostgreSQL too
(MINA_TEST_DATABASE_URL's server, a fresh database per size), ``only`` on PostgreSQL alone;
BENCH_SEMANTIC_QUALITY=0 skips the paraphrase set; BENCH_SEMANTIC_MODELS, the embedding models
it is measured with (a comma list of minilm and mpnet; default minilm); BENCH_SEMANTIC_SPEED_MODEL,
the model of the sizes' vectors and queries (default minilm).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from bench.paraphrase import load_meetings, load_questions
from bench.stats import emit as emit_line
from bench.stats import percentile
from mina import store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.demodata import generate_meetings
from mina.migrate import upgrade_database
from mina.models import Meeting, MeetingStatus, Passage, Segment
from mina.semantic.ask import ask
from mina.semantic.backfill import embed_meetings
from mina.semantic.index import VectorIndex, _load, quantize
from mina.semantic.job import embed_meeting_now
from mina.semantic.model import DEFAULT_MODEL, embedding_model, load_encoder
from mina.semantic.search import Filters, Mode, search
from mina.settings import Settings
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
SENTENCES = 2_000  # distinct demo sentences the speed workspaces' vectors are drawn around
NOISE = 1.0
QUERIES = [
    "what did we decide about server costs",
    "who is calling finance",
    "when does the new office open",
    "is the launch date moving",
    "how much will the contract cost",
    "who owns the follow up with the customer",
]


# the model of the speed sections' vectors and queries (BENCH_SEMANTIC_SPEED_MODEL)
SPEED_MODEL = embedding_model(os.environ.get("BENCH_SEMANTIC_SPEED_MODEL", DEFAULT_MODEL)).name


def emit(label: str, value: str) -> None:
    emit_line(f"{label:<58} {value}")


def _workspace(session: Session, email: str) -> tuple[int, int]:
    user = store.create_user(session, email=email, password="bench password 1", name="Bench")
    principal = store.get_principal(session, user=user)
    return principal.workspace.id, user.id


def quality(url: str, model: str = DEFAULT_MODEL) -> None:
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
    with transaction(sessions) as session:
        workspace_id, user_id = _workspace(session, "quality@example.com")
    load_encoder(model)  # loaded before the clock starts
    started, cpu = time.perf_counter(), time.process_time()
    ids = _add_paraphrase_meetings(sessions, workspace_id, user_id, model=model)
    lines = sum(len(m.segments) for m in load_meetings())
    emit(
        f"{model}: paraphrase set embedded",
        f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} CPU s) "
        f"for {lines} lines",
    )
    index = VectorIndex(model=model)
    local = Settings(data_dir=Path(tempfile.gettempdir()), llm_url="")  # Ask's local answers
    say = _labelled(model)
    with sessions() as session:
        for split in ("tuning", "held_out"):
            questions = load_questions(split=split)
            for mode in Mode:
                for k in (5, 10):
                    hits = _hits(session, index, workspace_id, ids, questions, mode, k)
                    say(
                        f"recall@{k} {mode.value} ({split}, {len(questions)} questions)",
                        f"{hits / len(questions):.2f}",
                    )
            answered = right = 0
            took = []
            for q in questions:
                clock = time.perf_counter()
                answer = ask(session, index, local, workspace_id=workspace_id, question=q.question)
                took.append(time.perf_counter() - clock)
                answered += answer.found
                lines = store.list_transcript(session, meeting_id=ids[q.meeting])
                wanted = {lines[i].id for i in q.answers}
                right += bool(answer.citations) and answer.citations[0].segment_id in wanted
            say(
                f"Ask answers / first citation is the answering line ({split})",
                f"{answered}/{len(questions)} / {right}/{len(questions)}",
            )
            say(
                f"Ask p50 / p95, search included ({split})",
                f"{percentile(took, 50):.2f} / {percentile(took, 95):.2f} s",
            )
        refused = 0
        for question in OFF_TOPIC:
            answer = ask(session, index, local, workspace_id=workspace_id, question=question)
            refused += not answer.found
        say("Ask says it cannot (off-topic questions)", f"{refused}/{len(OFF_TOPIC)}")
    engine.dispose()


def _labelled(model: str) -> Callable[[str, str], None]:
    """``emit`` with lines that name the model, past the default one's (unchanged)."""
    if model == DEFAULT_MODEL:
        return emit
    return lambda label, value: emit(f"{model}: {label}", value)


def _add_paraphrase_meetings(
    sessions: Callable[[], Session],
    workspace_id: int,
    user_id: int,
    *,
    model: str = DEFAULT_MODEL,
) -> dict[str, int]:
    """The paraphrase set's meetings, embedded with the model, in the workspace; their ids by
    the set's names."""
    meetings = load_meetings()
    with transaction(sessions) as session:
        before = session.scalar(select(func.max(Meeting.id))) or 0
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
        added = session.scalars(select(Meeting).where(Meeting.id > before).order_by(Meeting.id))
        for m, meeting in zip(meetings, added.all(), strict=True):
            assert meeting.title == m.title
            ids[m.id] = meeting.id
            embed_meeting_now(session, meeting=meeting, model=model)
    return ids


def _hits(
    session: Session,
    index: VectorIndex,
    workspace_id: int,
    ids: dict[str, int],
    questions: list[Any],
    mode: Mode,
    k: int,
) -> int:
    """How many questions have a line that answers them among the first ``k`` passages."""
    hits = 0
    for q in questions:
        meeting_id = ids[q.meeting]
        lines = store.list_transcript(session, meeting_id=meeting_id)
        wanted = [lines[i].start_ms for i in q.answers]
        found = search(session, index, workspace_id=workspace_id, q=q.question, mode=mode, limit=k)
        hits += any(
            h.meeting_id == meeting_id and h.start_ms <= at < h.end_ms
            for h in found
            for at in wanted
        )
    return hits


def fill(url: str, meetings: int, per_meeting: int, *, embed: bool = False) -> int:
    """A workspace of demo meetings, one passage per segment (its vector drawn near an embedded
    demo sentence's); or, with ``embed``, the completed meetings embedded with the model, as
    ``demo-data --embed`` does."""
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
        count = embed_meetings(sessions, ids, model=SPEED_MODEL)
        took = time.perf_counter() - started
        emit(
            f"embedded {len(ids)} completed meetings",
            f"{count} passages in {took:.0f} s ({count / took:.0f} passages/s; {load()})",
        )
    else:
        with sessions() as session:
            _passages_near_sentences(session, workspace_id, Segment.id > 0, now)
    with sessions() as session:
        count = session.scalar(text("SELECT count(*) FROM passages")) or 0
    engine.dispose()
    return int(count)


@cache
def _sentence_vectors() -> np.ndarray:
    """``SENTENCES`` distinct demo sentences embedded with the model (once a run)."""
    distinct: dict[str, None] = {}
    for demo in generate_meetings(200, 100, now=datetime.now(UTC), seed=5):
        distinct.update((s.text, None) for s in demo.segments)
    return load_encoder(SPEED_MODEL).embed(list(distinct)[:SENTENCES])


def _passages_near_sentences(
    session: Session, workspace_id: int, which: Any, now: datetime
) -> None:
    """A passage for each segment ``which`` selects, its vector one of the embedded demo
    sentences' plus noise of norm ``NOISE`` (cosine about 0.7 to the sentence)."""
    sentences = _sentence_vectors()
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
        dimensions = sentences.shape[1]
        noise = rng.standard_normal((len(rows), dimensions)).astype(np.float32)
        vectors = sentences[rng.integers(len(sentences), size=len(rows))]
        vectors = vectors + noise * (NOISE / np.sqrt(dimensions))
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
                    "model": SPEED_MODEL,
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


def speed(label: str, url: str, rounds: int) -> dict[str, float]:
    engine = create_db_engine(url)
    sessions = create_session_factory(engine)
    index = VectorIndex(model=SPEED_MODEL)
    load_encoder(SPEED_MODEL).embed(["warm up"])
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
        _shortlisted(label, session, index, workspace_id)
        _changes(label, session, index, workspace_id, ask)
    _recall_at_scale(label, sessions, index, workspace_id)
    engine.dispose()
    return results


def _every_row(index: VectorIndex) -> VectorIndex:
    """An index over the same loaded rows that scores every row (no shortlist)."""
    every = VectorIndex(model=index.model.name, shortlist_from=sys.maxsize)
    every._slots = index._slots
    return every


def _shortlisted(label: str, session: Session, index: VectorIndex, workspace_id: int) -> None:
    """What the shortlist costs and misses: the index's search alone with and without it, and
    how many of the top 5 and top 20 found by scoring every row it finds too."""
    every = _every_row(index)
    questions = QUERIES + [q.question for q in load_questions()]
    vectors = load_encoder(SPEED_MODEL).embed(questions)
    agree = {5: 0, 20: 0}
    for vector in vectors:
        truth = [
            f.passage_id
            for f in every.search(session, workspace_id=workspace_id, query=vector, k=20)
        ]
        got = [
            f.passage_id
            for f in index.search(session, workspace_id=workspace_id, query=vector, k=20)
        ]
        for k in agree:
            agree[k] += len(set(truth[:k]) & set(got[:k]))
    for name, which in (("shortlist", index), ("every row", every)):
        pending = iter(vectors)
        times = _timed(
            lambda w=which, v=pending: w.search(  # type: ignore[misc]
                session, workspace_id=workspace_id, query=next(v), k=20
            ),
            len(vectors),
        )
        emit(f"{label}: vector search alone, {name}", _ms(times))
    emit(
        f"{label}: shortlist finds of every row's top 5 / top 20",
        f"{agree[5] / (5 * len(vectors)):.3f} / {agree[20] / (20 * len(vectors)):.3f}"
        f" ({len(vectors)} questions)",
    )


def _recall_at_scale(
    label: str, sessions: Callable[[], Session], index: VectorIndex, workspace_id: int
) -> None:
    """The paraphrase set's meetings added to the workspace: recall@5 among all its passages,
    with the shortlist and scoring every row."""
    with sessions() as session:
        user_id = int(session.scalar(text("SELECT min(id) FROM users")))
    ids = _add_paraphrase_meetings(sessions, workspace_id, user_id, model=SPEED_MODEL)
    questions = load_questions()
    with sessions() as session:
        for mode in (Mode.SEMANTIC, Mode.HYBRID):
            shortlist, every = (
                _hits(session, which, workspace_id, ids, questions, mode, 5)
                for which in (index, _every_row(index))
            )
            emit(
                f"{label}: paraphrase recall@5 {mode.value} among all, shortlist / every row",
                f"{shortlist / len(questions):.2f} / {every / len(questions):.2f}",
            )


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
    _passages_near_sentences(session, workspace_id, Segment.meeting_id == meeting_id, now)
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
            slot.snapshot = _load(own, index.model, workspace_id, version)
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
            for model in os.environ.get("BENCH_SEMANTIC_MODELS", DEFAULT_MODEL).split(","):
                quality(f"sqlite:///{Path(tmp) / f'quality-{model}.db'}", model)
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
                speed(f"{db} real ({count} passages)", url, rounds)
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
