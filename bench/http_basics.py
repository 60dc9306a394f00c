"""Latency of the basic routes (healthz, /api/me, dashboard, login) on SQLite and PostgreSQL.

A real server process (uvicorn, one worker) on loopback, driven by one HTTP client, as `mina serve`
runs. PostgreSQL figures appear when MINA_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from bench.postgres import server_url, throwaway_database
from bench.stats import emit, summary_ms

ROUNDS = 200
PASSWORD = "benchmark password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time(
    client: httpx.Client, method: str, url: str, rounds: int, **kwargs: object
) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        samples.append(time.perf_counter() - started)
        assert response.status_code < 500, response.text
    return samples


def _bench_backend(label: str, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MINA_DATA_DIR": tmp, "MINA_LOG_LEVEL": "WARNING"}
        if database_url:
            env["MINA_DATABASE_URL"] = database_url
        else:
            env.pop("MINA_DATABASE_URL", None)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mina", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
                for _ in range(150):
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                page = client.get("/signup").text
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
                assert csrf
                client.post(
                    "/signup",
                    data={
                        "name": "Bench",
                        "email": "bench@example.com",
                        "password": PASSWORD,
                        "csrf_token": csrf.group(1),
                    },
                )
                emit(f"-- {label}")
                emit(f"GET /healthz        {summary_ms(_time(client, 'GET', '/healthz', ROUNDS))}")
                emit(f"GET /api/me         {summary_ms(_time(client, 'GET', '/api/me', ROUNDS))}")
                emit(
                    f"GET /dashboard      {summary_ms(_time(client, 'GET', '/dashboard', ROUNDS))}"
                )
                logins = []
                for _ in range(10):
                    with httpx.Client(base_url=base, timeout=10) as anonymous:
                        found = re.search(
                            r'name="csrf_token" value="([^"]+)"', anonymous.get("/login").text
                        )
                        assert found
                        form = {
                            "email": "bench@example.com",
                            "password": PASSWORD,
                            "csrf_token": found.group(1),
                        }
                        started = time.perf_counter()
                        response = anonymous.post("/login", data=form)
                        logins.append(time.perf_counter() - started)
                        assert response.status_code == 303, response.status_code
                emit(f"POST /login         {summary_ms(logins)} (argon2id verify)")
        finally:
            server.terminate()
            server.wait(timeout=15)


def run() -> None:
    _bench_backend("SQLite", None)
    server = server_url()
    if server is None:
        emit("-- PostgreSQL: skipped (set MINA_TEST_DATABASE_URL)")
        return
    with throwaway_database(server, "mina_bench") as url:
        _bench_backend("PostgreSQL", url)


if __name__ == "__main__":
    run()
