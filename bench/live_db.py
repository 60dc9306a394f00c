"""Database work of a live recording, in process: a segment commit and a heartbeat, timed.

A live recording makes one transaction per utterance (its segments and the heartbeat, as
``recorder.save_segments`` does) and a heartbeat alone every ``MINA_HEARTBEAT_S`` of silence.
This runs those transactions back to back on a real SQLite file and, when
``MINA_TEST_DATABASE_URL`` names a server (as ``make bench`` does), on a throwaway PostgreSQL
database, and prints CPU and wall time per transaction. The streaming benchmark measures the
same work inside a loaded server, per recorded minute, where it costs more: a live commit comes
seconds after the last one, with the CPU caches full of the speech model's work. In the server a
segment commit took 1.2 ms CPU where the same commits run back to back (in that server process,
on its database) took 0.28 ms; this benchmark is the floor, not the figure.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.meeting_audio import MEETING_TEXT
from bench.postgres import server_url, throwaway_database
from bench.stats import emit, percentile
from mina import store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.live.recorder import save_segments
from mina.migrate import upgrade_database

WARMUP = 20
COMMITS = 400
WORDS_PER_SEGMENT = 18  # a sentence of a meeting


_TEXT_WORDS = " ".join(MEETING_TEXT).split()


def _segment(seq: int) -> store.NewSegment:
    """A sentence of the benchmark meeting's text: FTS5 indexes real words (and their prefixes)
    at a real cost, which made-up words that share their prefixes would hide."""
    start = seq * 6000
    first = seq * WORDS_PER_SEGMENT % len(_TEXT_WORDS)
    picked = (_TEXT_WORDS * 2)[first : first + WORDS_PER_SEGMENT]
    words = [
        {
            "text": f" {text}",
            "start_ms": start + i * 300,
            "end_ms": start + i * 300 + 250,
            "probability": 0.9,
        }
        for i, text in enumerate(picked)
    ]
    return store.NewSegment(
        seq=seq,
        text="".join(w["text"] for w in words).strip(),
        start_ms=start,
        end_ms=start + WORDS_PER_SEGMENT * 300,
        confidence=0.9,
        words=words,
    )


def _bench(label: str, url: str, audio_dir: Path) -> None:
    engine = create_db_engine(url)
    upgrade_database(engine)
    sessions = create_session_factory(engine)
    with transaction(sessions) as session:
        user = store.create_user(session, email="bench@example.com", password="bench password 1")
        session.flush()
        started = store.start_recording(
            session,
            principal=store.get_principal(session, user=user),
            audio_dir=audio_dir,
            title="Benchmark",
            language="en",
            sample_rate=16000,
            engine="whisper",
            model="tiny.en",
        )
        recording_id, meeting_id = started.recording.id, started.meeting.id

    # built before the clock starts: only the transaction is timed
    segments = [_segment(seq) for seq in range(WARMUP + COMMITS)]

    def commit(seq: int) -> None:
        with transaction(sessions) as session:
            save_segments(
                session,
                recording_id=recording_id,
                meeting_id=meeting_id,
                segments=[segments[seq]],
                audio_bytes=seq * 192000,
            )

    def beat(seq: int) -> None:
        with transaction(sessions) as session:
            store.touch_recording(session, recording_id=recording_id, audio_bytes=seq * 192000)

    work: Callable[[int], None]
    for name, work in (("segment commit", commit), ("heartbeat", beat)):
        for seq in range(WARMUP):
            work(seq)
        cpu, wall = [], []
        for seq in range(WARMUP, WARMUP + COMMITS):
            cpu_started, wall_started = time.thread_time(), time.perf_counter()
            work(seq)
            cpu.append((time.thread_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - wall_started) * 1000)
        emit(
            f"{label:<10} {name:<15} CPU p50 {percentile(cpu, 50):5.2f} ms  "
            f"p95 {percentile(cpu, 95):5.2f} ms   wall p50 {percentile(wall, 50):5.2f} ms  "
            f"p95 {percentile(wall, 95):5.2f} ms  n={COMMITS}"
        )
    engine.dispose()


def run() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir)
        _bench("SQLite", f"sqlite:///{folder / 'mina.db'}", folder)
        server = server_url()
        if server is None:
            emit("-- PostgreSQL: skipped (set MINA_TEST_DATABASE_URL)")
            return
        with throwaway_database(server, "mina_bench_db") as url:
            _bench("PostgreSQL", url, folder)


if __name__ == "__main__":
    run()
