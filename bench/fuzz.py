"""Streaming protocol v1 under fuzzing, the long version: thousands of random client sessions.

The rule-based machine of ``tests/protocolfuzz.py`` (the suite runs 120 of its examples per
database) against a real server with the fake engine, on a SQLite file and, when
``MINA_TEST_DATABASE_URL`` names a server (as ``make bench`` does), on a throwaway PostgreSQL
database. ``BENCH_FUZZ_EXAMPLES`` sets the number of examples per database (default 5000).
Prints the examples run, what they did, the time taken and the first failure, shrunk to the
shortest sequence of steps.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest

from bench.postgres import server_url, throwaway_database
from bench.stats import emit
from mina import store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.migrate import upgrade_database
from mina.settings import Settings
from tests.liveserver import live_server
from tests.protocolfuzz import fuzz_settings, install_fault, run_fuzz

SECRET = "bench-fuzz-" + "x" * 40
RESULTS = Path(__file__).resolve().parent / "results"


def _token(database_url: str) -> str:
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    with transaction(create_session_factory(engine)) as session:
        user = store.create_user(session, email="fuzz@example.com", password="fuzz password 1")
        session.flush()
        _, token = store.create_api_token(session, user=user, name="fuzz")
    engine.dispose()
    return token


def _fuzz(label: str, database_url: str, data_dir: Path, examples: int) -> bool:
    settings = fuzz_settings(
        Settings(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=SECRET,
            engine="fake",
            vad="energy",
        )
    )
    token = _token(database_url)
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    failure = None
    monkeypatch = pytest.MonkeyPatch()
    install_fault(monkeypatch)
    try:
        with live_server(settings) as server:
            run_fuzz(server, token, examples=examples, stats=stats)
    except Exception as exc:  # the shrunk failing example: reported, not raised
        failure = "".join(traceback.format_exception(exc)).strip()
    finally:
        monkeypatch.undo()
    elapsed = time.perf_counter() - started
    did = ", ".join(
        f"{count} {name}" for name, count in sorted(stats.items()) if name != "examples"
    )
    emit(
        f"{label:<10} {stats['examples']} examples in {elapsed:.0f} s "
        f"({stats['examples'] / max(elapsed, 1e-9):.1f}/s): {did}"
    )
    emit(f"{label:<10} {'FAILED: ' + failure if failure else 'no failure'}")
    return failure is None


def run() -> None:
    examples = int(os.environ.get("BENCH_FUZZ_EXAMPLES", "5000"))
    # the server's log (its injected faults log tracebacks by design) goes to a file
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = logging.FileHandler(RESULTS / "fuzz-server.log", mode="w")
    log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(log)
    root.setLevel(logging.INFO)
    emit(f"server log: {RESULTS / 'fuzz-server.log'}")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            folder = Path(workdir)
            _fuzz("SQLite", f"sqlite:///{folder / 'mina.db'}", folder / "sqlite", examples)
            server = server_url()
            if server is None:
                emit("PostgreSQL skipped: MINA_TEST_DATABASE_URL is not set")
                return
            with throwaway_database(server, "mina_bench_fuzz") as url:
                _fuzz("PostgreSQL", url, folder / "postgresql", examples)
    finally:
        root.removeHandler(log)
        log.close()
