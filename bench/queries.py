"""Search and list latency through the HTTP API at 100 meetings and at 10k meetings / 1M segments.

For each size and backend (SQLite; PostgreSQL when MINA_TEST_DATABASE_URL names a server), a
workspace is filled with `mina demo-data`, a real `mina serve` process is started, and one HTTP
client times transcript search (a common word, a rare word, a prefix, a phrase), the list with
filters, the meetings page, the dashboard and, when the route exists, GET /api/analytics (30
and 365 days).
Targets: p95 <= 50 ms at 10k / 1M, and p95 at 10k at most 3x the p95 at 100.

Generating 1M segments takes minutes: set BENCH_QUERIES_DIR to a directory to keep the generated
databases there (SQLite files, and PostgreSQL databases named mina_bench_q_*) and reuse them on
the next run. BENCH_QUERIES_SIZES=small runs the 100-meeting size only; BENCH_QUERIES_ROUNDS sets
the requests per route (default 60).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.server import ServerProcess
from bench.stats import emit, percentile
from mina.db import create_db_engine
from mina.settings import normalise_database_url

EMAIL = "bench@example.com"
PASSWORD = "benchmark password"
TARGET_P95_MS = 50.0
TARGET_RATIO = 3.0


@dataclass(frozen=True)
class Size:
    name: str
    meetings: int
    segments_per_meeting: int


SIZES = {"small": Size("small", 100, 100), "large": Size("large", 10_000, 103)}


def _routes() -> list[tuple[str, str]]:
    today = datetime.now(UTC).date()
    since = (today - timedelta(days=180)).isoformat()
    return [
        ("search common word", "/api/meetings?q=team"),
        ("search rare word", "/api/meetings?q=kubernetes"),
        ("search prefix", "/api/meetings?q=bill"),
        ("search phrase", '/api/meetings?q="launch plan"'),
        ("search + filters", f"/api/meetings?q=budget&status=completed&from={since}&sort=newest"),
        ("list with filters", f"/api/meetings?status=completed&from={since}&to={today}"),
        ("list, page 20", "/api/meetings?page=20&sort=oldest"),
        ("list, longest first", "/api/meetings?sort=longest"),
        ("meetings page search", '/dashboard/meetings?q="billing page"'),
        ("dashboard page", "/dashboard"),
        ("analytics 30 days", "/api/analytics?days=30"),
        ("analytics 365 days", "/api/analytics?days=365"),
    ]


def _mina(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mina", *args],
        env=env,
        input=stdin.encode(),
        capture_output=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mina {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode().strip()


def _prepare(size: Size, data_dir: Path, database_url: str | None, label: str) -> None:
    """Fill the database unless a previous run left this size there."""
    marker = data_dir / f"bench-{size.name}.json"
    if marker.exists():
        emit(f"   reusing {label} {size.name} database ({marker.read_text().strip()})")
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINA_")}
    env.update(MINA_DATA_DIR=str(data_dir), MINA_LOG_LEVEL="WARNING")
    if database_url:
        env["MINA_DATABASE_URL"] = database_url
    _mina(env, "user", "create", EMAIL, "--name", "Bench", "--password-stdin", stdin=PASSWORD)
    started = time.monotonic()
    made = _mina(
        env,
        "demo-data",
        "--meetings",
        str(size.meetings),
        "--segments-per-meeting",
        str(size.segments_per_meeting),
        "--email",
        EMAIL,
    )
    seconds = time.monotonic() - started
    emit(f"   {label} {size.name}: {made.splitlines()[-1]} (command: {seconds:.0f} s)")
    marker.write_text(json.dumps({"made": made.splitlines()[-1]}) + "\n")


def _log_in(client: httpx.Client) -> None:
    page = client.get("/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on /login"
    response = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    assert response.status_code == 303, response.status_code


def _measure(
    size: Size, data_dir: Path, database_url: str | None, label: str, rounds: int
) -> dict[str, float]:
    """p95 per route (ms); prints p50/p95 lines."""
    server = ServerProcess(data_dir, log_level="WARNING")
    if database_url:
        server.env["MINA_DATABASE_URL"] = database_url
    server.start()
    p95s: dict[str, float] = {}
    try:
        token = server.cli("token", "create", EMAIL)
        with (
            httpx.Client(
                base_url=server.base_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ) as api,
            httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False) as pages,
        ):
            _log_in(pages)
            for name, url in _routes():
                client = pages if url.startswith("/dashboard") else api
                first = client.get(url)
                if first.status_code == 404:
                    emit(f"   {name:22} {url}: answers 404 on this branch, skipped")
                    continue
                assert first.status_code == 200, f"{url}: {first.status_code} {first.text[:300]}"
                for _ in range(4):
                    client.get(url)
                samples = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = client.get(url)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text[:300]
                extra = ""
                if url.startswith("/api/meetings"):
                    body = response.json()
                    exact = "" if body.get("total_exact", True) else "+"
                    extra = f"  total {body['total']}{exact}"
                p50, p95 = percentile(samples, 50), percentile(samples, 95)
                p95s[name] = p95
                emit(f"   {name:22} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  n={rounds}{extra}")
    finally:
        server.stop()
    return p95s


def _bench_backend(label: str, root: Path, server_url: str | None, sizes: list[Size]) -> None:
    rounds = int(os.environ.get("BENCH_QUERIES_ROUNDS", "60"))
    results: dict[str, dict[str, float]] = {}
    for size in sizes:
        data_dir = root / f"{label.lower()}-{size.name}"
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = None
        if server_url:
            database_url = _ensure_database(server_url, f"mina_bench_q_{size.name}", data_dir)
        _prepare(size, data_dir, database_url, label)
        segments = size.meetings * size.segments_per_meeting
        emit(f"-- {label}, {size.meetings} meetings (~{segments:,} segments)")
        results[size.name] = _measure(size, data_dir, database_url, label, rounds)
    if "small" in results and "large" in results:
        emit(f"-- {label}: p95 at 10k, and x its p95 at 100 (targets {TARGET_P95_MS:.0f} ms, 3x)")
        for name, large in results["large"].items():
            small = results["small"].get(name)
            ratio = large / small if small else float("nan")
            ok = large <= TARGET_P95_MS and ratio <= TARGET_RATIO
            emit(f"   {name:22} {large:7.2f} ms  x{ratio:4.1f}  {'ok' if ok else 'MISSED'}")


def _ensure_database(server_url: str, name: str, data_dir: Path) -> str:
    """A PostgreSQL database for this size: kept if a marker says it was filled, else new."""
    admin = create_db_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists and not any(data_dir.glob("bench-*.json")):
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_databases(server_url: str, sizes: list[Size]) -> None:
    admin = create_db_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for size in sizes:
                name = f"mina_bench_q_{size.name}"
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run() -> None:
    wanted = os.environ.get("BENCH_QUERIES_SIZES", "small,large").split(",")
    sizes = [SIZES[name.strip()] for name in wanted if name.strip()]
    keep = os.environ.get("BENCH_QUERIES_DIR")
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mina-bench-queries-"))
    server = os.environ.get("MINA_TEST_DATABASE_URL", "")
    pg_url = normalise_database_url(server) if server.startswith("postgres") else None
    try:
        _bench_backend("SQLite", root, None, sizes)
        if pg_url is None:
            emit("-- PostgreSQL: skipped (set MINA_TEST_DATABASE_URL)")
        else:
            _bench_backend("PostgreSQL", root, pg_url, sizes)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
            if pg_url:
                _drop_databases(pg_url, sizes)


if __name__ == "__main__":
    run()
