"""Concurrent live streams on two web processes: ack latency, server CPU per stream, fan-out.

Two real ``mina serve`` processes (the fake engine, one throwaway PostgreSQL database when
``MINA_TEST_DATABASE_URL`` names a server, else one SQLite file, one data directory, and the
Redis at ``MINA_TEST_REDIS_URL`` or 127.0.0.1:6379 with a key prefix of their own;
``MINA_JOB_WORKERS=0`` as behind a load balancer, so post-meeting jobs wait for workers instead
of running in a later step) take steps of N concurrent streams, spread over both. Each stream
sends tone-burst sentences the fake engine reads as words in 100 ms frames of 16 kHz s16le, each
at its wall-clock time, then ``stop``; every meeting must end completed with every word stored
(a failure is printed and ends the steps).

Acks come about once a second (``ACK_INTERVAL_S``), so a frame waits for the next one by design:
frame-to-ack (a frame's send to the first ack covering it) is about 0.5 s at the median even on an
idle server. What load changes is the ack delay: from the send of the newest frame an ack covers
to that ack's arrival (the frame that completes a second since the last ack wakes the server's
sync, so this is the fsync, event loop lag and the network). The steps stop at the first N whose
ack delay p99 passes ``--limit-ms`` (200 ms; ``--all-steps`` goes on) or that had an error, and
the largest N within it is printed.

Server CPU per stream is both processes' CPU seconds in the step over N times the seconds of
audio each stream sent, as a share of one core (the step also waits for the stops, so this is a
little more than per wall second), and the same less both processes' idle CPU. The client
(``bench/load_client.py``: one asyncio process, or ``--clients K``) shares the same cores: its
CPU and how late it sent frames are printed beside, and so is what other processes used.

Fan-out: ``--fanout-meetings`` streams with ``--viewers`` viewers each, every viewer on the other
process than its stream, so each event crosses Redis: the lag from the stream's own client
receiving an interim or final event to each viewer receiving the same event, and events
delivered of expected (must be all).

``python -m bench load [--streams 10,25,50] [--seconds 20] [--fanout-meetings 10] [--viewers 10]
[--clients 1] [--limit-ms 200] [--all-steps]``; ``BENCH_LOAD_STREAMS`` and
``BENCH_LOAD_SECONDS`` set the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.orm import Session

from bench.load_client import (
    ClientJob,
    ClientResult,
    StreamOutcome,
    StreamPlan,
    build_speech,
    run_client,
)
from bench.postgres import server_url, throwaway_database
from bench.server import ServerProcess, machine_cpu_ticks, machine_description
from bench.stats import emit, percentile
from mina import store
from mina.db import create_db_engine
from mina.migrate import upgrade_database

DEFAULT_STREAMS = "10,25,50,100,150,200"
PASSWORD = "benchmark password"
READY_TIMEOUT_S = 300.0
TARGET_STREAMS = 100  # on a 2-core machine, fake engine
TARGET_SHARE = 2.0  # percent of one core per stream
BUSY_MACHINE_CORES = 0.3  # other processes' CPU that makes a step's figures suspect


@dataclass(frozen=True)
class StepFigures:
    streams: int
    viewers: int
    outcomes: list[StreamOutcome]
    audio_s: float  # per stream
    wall_s: float  # first frame to the last ``stopped``
    window_s: float  # what the CPU figures were read over: a little longer
    server_cpu_s: float
    client_cpu_s: float
    machine_busy_s: float  # every process on the machine, servers and client included
    rss_mib: float

    @property
    def errors(self) -> list[str]:
        return [error for outcome in self.outcomes for error in outcome.errors]

    def pooled(self, name: str) -> list[float]:
        return [value for outcome in self.outcomes for value in getattr(outcome, name)]

    def core_share(self, cpu_s: float) -> float:
        """CPU seconds as percent of one core over the step's wall time."""
        return 100 * cpu_s / self.window_s

    @property
    def server_share_per_stream(self) -> float:
        """Server CPU per stream as percent of one core: per second of audio streamed, which
        is a little more than per second of wall time (the step also waits for the stops)."""
        return 100 * self.server_cpu_s / (self.streams * self.audio_s)


@contextlib.contextmanager
def _database(scratch: Path) -> Iterator[tuple[str, str]]:
    """The database URL and its description."""
    server = server_url()
    if server is None:
        yield f"sqlite:///{scratch}/mina.db", "SQLite (set MINA_TEST_DATABASE_URL for PostgreSQL)"
        return
    with throwaway_database(server, "mina_bench_load") as url:
        yield url, "PostgreSQL"


@contextlib.contextmanager
def _redis_prefix(url: str) -> Iterator[str]:
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    client.ping()
    prefix = f"mina-bench-load-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


@contextlib.contextmanager
def start_servers(
    scratch: Path, *, database_url: str, redis_url: str, redis_prefix: str
) -> Iterator[list[ServerProcess]]:
    """Two ``mina serve`` processes on one data directory, database and Redis (fake engine,
    post-meeting jobs left to workers that do not run here). The database is migrated first, so
    that they can start together."""
    engine = create_db_engine(database_url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    settings = {
        "MINA_SECRET_KEY": secrets.token_urlsafe(32),
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_LIVE_SPEAKERS": "false",
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
        "MINA_SEMANTIC_SEARCH": "false",
        # as behind a load balancer: post-meeting jobs (the playback copy) are for workers, and
        # wait in the jobs table here, so one step's jobs do not run in the next step's window
        "MINA_JOB_WORKERS": "0",
        "MINA_REDIS_URL": redis_url,
        "MINA_REDIS_PREFIX": redis_prefix,
        "MINA_DATABASE_URL": database_url,
    }
    servers = [
        ServerProcess(
            scratch / "data",
            log_level="WARNING",
            settings=settings,
            inherit_settings=False,
            log_path=scratch / f"web{number}.log",
        )
        for number in (1, 2)
    ]
    try:
        with ThreadPoolExecutor(2) as starting:  # each start imports and migrates: in parallel
            list(starting.map(lambda server: server.start(), servers))
        yield servers
    finally:
        with ThreadPoolExecutor(2) as stopping:
            list(stopping.map(lambda server: server.stop(), servers))


def create_token(database_url: str) -> str:
    """A user and an API token of theirs, made in the database directly (no CLI start-up)."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            user = store.create_user(session, email="load@example.com", password=PASSWORD)
            _, token = store.create_api_token(session, user=user, name="bench load")
            session.commit()
    finally:
        engine.dispose()
    return token


def _plans(
    servers: list[ServerProcess], streams: int, viewers: int, frame_ms: int
) -> list[StreamPlan]:
    """Streams alternate between the processes; their viewers follow on the other one."""
    chance = random.Random(streams)
    return [
        StreamPlan(
            index=index,
            http_url=servers[index % 2].base_url,
            ws_url=servers[index % 2].ws_url,
            viewer_ws_url=servers[(index + 1) % 2].ws_url,
            viewers=viewers,
            phase_s=chance.uniform(0, frame_ms / 1000),
        )
        for index in range(streams)
    ]


def run_step(
    servers: list[ServerProcess],
    token: str,
    *,
    streams: int,
    viewers: int,
    seconds: float,
    frame_ms: int,
    clients: int,
) -> StepFigures:
    """N streams (and their viewers) from ``clients`` processes at once; their figures."""
    plans = _plans(servers, streams, viewers, frame_ms)
    context = multiprocessing.get_context("fork")  # what this process imported, at once
    pipes, processes = [], []
    for share in range(clients):
        job = ClientJob(plans[share::clients], token, seconds, frame_ms)
        ours, theirs = context.Pipe()
        process = context.Process(target=run_client, args=(job, theirs), daemon=True)
        process.start()
        theirs.close()
        pipes.append(ours)
        processes.append(process)
    try:
        for pipe in pipes:
            if not pipe.poll(READY_TIMEOUT_S):
                raise RuntimeError("a client process did not open its streams in time")
            _receive(pipe)
        start_at = time.monotonic() + 0.5
        busy_before, _ = machine_cpu_ticks()
        cpu_before = sum(server.cpu_seconds() for server in servers)
        read_from = time.monotonic()
        for pipe in pipes:
            pipe.send(start_at)
        results: list[ClientResult] = [_receive(pipe) for pipe in pipes]
        end = max(result.finished_at for result in results)
        # the clients checked the meetings after ``end``: a little server CPU, counted here
        server_cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
        busy_after, _ = machine_cpu_ticks()
        read_until = time.monotonic()
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    rss = sum(server.memory_kib().get("VmRSS", 0) for server in servers) / 1024
    return StepFigures(
        streams=streams,
        viewers=viewers,
        outcomes=[outcome for result in results for outcome in result.outcomes],
        audio_s=build_speech(seconds).seconds,
        wall_s=end - start_at,
        window_s=read_until - read_from,
        server_cpu_s=server_cpu,
        client_cpu_s=sum(result.cpu_seconds for result in results),
        machine_busy_s=(busy_after - busy_before) / os.sysconf("SC_CLK_TCK"),
        rss_mib=rss,
    )


def _receive(pipe: Connection) -> Any:
    try:
        return pipe.recv()
    except EOFError:
        raise RuntimeError("a client process ended without its results") from None


def _ms(values_s: list[float], q: float) -> str:
    return f"{percentile(values_s, q) * 1000:6.0f}"


def idle_share(servers: list[ServerProcess], seconds: float = 5.0) -> float:
    """Both processes' CPU with no stream, as percent of one core (timers, housekeeping)."""
    before, started = sum(server.cpu_seconds() for server in servers), time.monotonic()
    time.sleep(seconds)
    used = sum(server.cpu_seconds() for server in servers) - before
    return 100 * used / (time.monotonic() - started)


def report_step(step: StepFigures, idle: float) -> None:
    above_idle = step.server_share_per_stream - idle * step.window_s / step.audio_s / step.streams
    others = max(0.0, step.machine_busy_s - step.server_cpu_s - step.client_cpu_s)
    late = step.pooled("send_late_s")
    emit(
        f"N={step.streams:4d}  ack delay p50 {_ms(step.pooled('ack_delay_s'), 50)} ms "
        f"p99 {_ms(step.pooled('ack_delay_s'), 99)} ms  "
        f"frame-to-ack p50 {_ms(step.pooled('frame_to_ack_s'), 50)} ms "
        f"p99 {_ms(step.pooled('frame_to_ack_s'), 99)} ms  "
        f"server CPU {step.server_share_per_stream:5.2f}% of a core per stream "
        f"({above_idle:4.2f}% above idle; {step.core_share(step.server_cpu_s):3.0f}% in all)  "
        f"RSS {step.rss_mib:5.0f} MiB (both)"
    )
    emit(
        f"        client CPU {step.core_share(step.client_cpu_s):4.0f}% of a core, frames sent "
        f"late p99 {_ms(late, 99)} ms (max {max(late, default=0) * 1000:.0f} ms); other "
        f"processes (PostgreSQL and Redis too) {step.core_share(others):4.0f}%; "
        f"wall {step.wall_s:5.1f} s; "
        f"{sum(o.status == 'completed' for o in step.outcomes)}/{step.streams} meetings "
        f"completed, frames unacked at stop "
        f"{sum(o.unacked_frames for o in step.outcomes)}"
    )
    if step.core_share(others) / 100 > BUSY_MACHINE_CORES:
        emit(
            f"        warning: other processes kept {step.core_share(others) / 100:.1f} cores "
            "busy; latency and CPU figures are disturbed, re-run on a quiet machine"
        )
    for error in step.errors[:10]:
        emit(f"        ERROR {error}")
    if len(step.errors) > 10:
        emit(f"        ... and {len(step.errors) - 10} more errors")


def report_fanout(step: StepFigures, without_viewers: StepFigures | None) -> None:
    """Delivery and lag of the viewers' events; and what the viewers cost the servers, beside
    a step of as many streams without viewers."""
    expected = sum(o.expected_deliveries for o in step.outcomes)
    delivered = sum(o.delivered for o in step.outcomes)
    lags = step.pooled("fanout_lag_s")
    emit(
        f"fan-out, {step.streams} meetings x {step.viewers} viewers on the other process: "
        f"event lag (viewer minus the stream's own client) p50 {_ms(lags, 50)} ms "
        f"p99 {_ms(lags, 99)} ms max {max(lags, default=float('nan')) * 1000:.0f} ms; "
        f"delivered {delivered}/{expected} "
        f"({100 * delivered / expected if expected else float('nan'):.1f}%)"
    )
    if without_viewers is not None:
        extra = step.core_share(step.server_cpu_s) - without_viewers.core_share(
            without_viewers.server_cpu_s
        )
        viewers = step.streams * step.viewers
        emit(
            f"        the {viewers} viewers cost the servers {extra:.0f}% of a core beside "
            f"the step of {step.streams} streams without viewers: {extra / viewers:.2f}% "
            f"per viewer ({delivered / step.wall_s / viewers:.1f} events a second each)"
        )


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument(
        "--streams",
        default=os.environ.get("BENCH_LOAD_STREAMS", DEFAULT_STREAMS),
        help="comma-separated steps of N concurrent streams",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("BENCH_LOAD_SECONDS", "20")),
        help="audio per stream, per step",
    )
    parser.add_argument("--frame-ms", type=int, default=100, choices=range(20, 201))
    parser.add_argument("--fanout-meetings", type=int, default=10, help="0: no fan-out step")
    parser.add_argument("--viewers", type=int, default=10, help="viewers per fan-out meeting")
    parser.add_argument("--clients", type=int, default=1, help="client processes")
    parser.add_argument("--limit-ms", type=float, default=200.0, help="ack delay p99 limit")
    parser.add_argument(
        "--all-steps",
        action="store_true",
        help="go on past the ack delay limit (not past errors): CPU figures of every step",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("MINA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> None:
    args = _arguments(argv or [])
    steps = [int(n) for n in args.streams.split(",") if n.strip()]
    emit(f"machine: {machine_description()}; load average {os.getloadavg()[0]:.2f} at start")
    with (
        tempfile.TemporaryDirectory(prefix="mina-bench-load-") as scratch,
        _database(Path(scratch)) as (database_url, database),
        _redis_prefix(args.redis_url) as prefix,
        start_servers(
            Path(scratch), database_url=database_url, redis_url=args.redis_url, redis_prefix=prefix
        ) as servers,
    ):
        emit(
            f"2 web processes (fake engine, {database}, Redis); "
            f"{build_speech(args.seconds).seconds:.1f} s of audio per stream in {args.frame_ms} ms "
            f"frames; {args.clients} client process(es)"
        )
        token = create_token(database_url)
        idle = idle_share(servers)
        emit(f"both web processes idle: {idle:.1f}% of a core")
        common = {"seconds": args.seconds, "frame_ms": args.frame_ms, "clients": args.clients}
        passed: int | None = None
        shares: list[float] = []
        done: dict[int, StepFigures] = {}
        failed = False
        for streams in steps:
            step = run_step(servers, token, streams=streams, viewers=0, **common)
            report_step(step, idle)
            shares.append(step.server_share_per_stream)
            done[streams] = step
            p99 = percentile(step.pooled("ack_delay_s"), 99) * 1000
            if step.errors or not p99 <= args.limit_ms:
                failed = True
                if step.errors or not args.all_steps:
                    why = "errors" if step.errors else "ack delay p99"
                    emit(f"stopping: {why} at N={streams}")
                    break
            if not failed:
                passed = streams
        if passed is None:
            emit(f"no step kept the ack delay p99 <= {args.limit_ms:.0f} ms without errors")
        else:
            emit(
                f"largest N with ack delay p99 <= {args.limit_ms:.0f} ms and no errors: {passed}"
                + (" (the largest step tried)" if passed == steps[-1] else "")
            )
        worst = max(shares, default=float("nan"))
        if passed is not None and passed >= TARGET_STREAMS:
            verdict = "met"
        else:
            verdict = "NOT met" if max(steps) >= TARGET_STREAMS else "not tried"
        emit(
            f"targets: >= {TARGET_STREAMS} streams within the limit: "
            f"{verdict}; "
            f"server CPU <= {TARGET_SHARE:.0f}% of a core per stream at every step run: "
            f"{'met' if worst <= TARGET_SHARE else 'NOT met'} (at most {worst:.2f}%)"
        )
        if args.fanout_meetings:
            step = run_step(
                servers,
                token,
                streams=args.fanout_meetings,
                viewers=args.viewers,
                **common,
            )
            report_step(step, idle)
            report_fanout(step, done.get(args.fanout_meetings))
    emit(f"load average {os.getloadavg()[0]:.2f} at the end")
