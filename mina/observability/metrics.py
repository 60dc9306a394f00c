"""One process's Prometheus metrics, in a registry of its own (``/metrics`` serves it).

Hot paths make one cheap call each (a histogram observation, a counter increment; no lock is
held across a decode). What can be read when Prometheus scrapes is read then, by ``_StateNow``:
the live streams, the decode queue, the audio waiting for its ack, and the jobs table (a
query, so ``/metrics`` renders in a worker thread, never on the event loop).

Several web processes each serve their own numbers: Prometheus scrapes every process, and
sums or compares them itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.engines.base import AudioArray, SpeechEngine, Word
from mina.jobs.routing import queue_for
from mina.models import JobStatus

logger = logging.getLogger(__name__)

# decodes of tiny.en take 0.05-2 s on a 2-core machine; base several times that
DECODE_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
# a word settles 1-4 s after its audio on a healthy server (README, Benchmarks)
LAG_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0, 60.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class LiveState:
    """How to read the live pipeline's state at scrape time (from a worker thread)."""

    streams: Callable[[], int]
    decode_queue: Callable[[], int]
    unacked_bytes: Callable[[], int]


class Metrics:
    """The instruments of one process (one app), and the registry that holds them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.decode_seconds = Histogram(
            "mina_decode_seconds",
            "Time one speech decode of a live recording took (streaming: an interim "
            "hypothesis; final: an utterance's stored segments).",
            ["pass"],
            buckets=DECODE_BUCKETS,
            registry=registry,
        )
        self.word_lag_seconds = Histogram(
            "mina_confirmed_word_lag_seconds",
            "From a word's audio reaching the server to the word first sent as settled "
            "(an interim's confirmed text or its final segment); each word once.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "mina_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "mina_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.websocket_connections = Counter(
            "mina_websocket_connections",
            "WebSocket connections accepted, by route template.",
            ["route"],
            registry=registry,
        )
        self.websockets_open = Gauge(
            "mina_websockets_open",
            "WebSocket connections open now, by route template.",
            ["route"],
            registry=registry,
        )
        ProcessCollector(registry=registry)
        self._streaming = self.decode_seconds.labels("streaming")
        self._final = self.decode_seconds.labels("final")

    def watch(self, *, live: LiveState, sessions: sessionmaker[Session]) -> None:
        """Read the live pipeline and the jobs table whenever the registry is collected."""
        self.registry.register(_StateNow(live, sessions))

    def timed(self, engine: SpeechEngine) -> SpeechEngine:
        """The engine, its decodes timed into ``mina_decode_seconds``."""
        return TimedEngine(engine, self)

    def observe_decode(self, seconds: float, *, final: bool) -> None:
        (self._final if final else self._streaming).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format (blocking: the jobs query runs here)."""
        return generate_latest(self.registry)


class TimedEngine:
    """A speech engine whose every ``transcribe`` is timed; everything else is the engine's."""

    def __init__(self, engine: SpeechEngine, metrics: Metrics) -> None:
        self._engine = engine
        self._metrics = metrics

    @property
    def name(self) -> str:
        return self._engine.name

    @property
    def sample_rate(self) -> int:
        return self._engine.sample_rate

    @property
    def model_name(self) -> str:
        return self._engine.model_name

    def transcribe(
        self,
        audio: AudioArray,
        *,
        prompt: str = "",
        language: str | None = None,
        final: bool = False,
    ) -> list[Word]:
        started = time.perf_counter()
        try:
            return self._engine.transcribe(audio, prompt=prompt, language=language, final=final)
        finally:
            self._metrics.observe_decode(time.perf_counter() - started, final=final)


class _StateNow(Collector):
    """Gauges read at scrape time: nothing on the hot paths keeps them up to date."""

    def __init__(self, live: LiveState, sessions: sessionmaker[Session]) -> None:
        self.live = live
        self.sessions = sessions

    def describe(self) -> list[Metric]:
        return []  # collected lazily: registering must not run a query

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "mina_live_streams",
            "Live recordings this process holds (streaming, or waiting for a resume).",
            value=self.live.streams(),
        )
        yield GaugeMetricFamily(
            "mina_decode_queue_depth",
            "Decodes (live steps, uploads, recovery) waiting for a decode worker.",
            value=self.live.decode_queue(),
        )
        yield GaugeMetricFamily(
            "mina_acks_pending_bytes",
            "Audio received by live recordings and not yet acknowledged (fsync, then ack).",
            value=self.live.unacked_bytes(),
        )
        jobs = GaugeMetricFamily(
            "mina_jobs",
            "Jobs in the jobs table, by queue, job name and state.",
            labels=["queue", "job", "state"],
        )
        try:
            with transaction(self.sessions) as session:
                counts = store.count_jobs(session)
        except Exception as exc:  # the database is down: the other metrics still answer
            logger.warning("metrics: could not count jobs: %s", exc)
            return
        found = {(c.name, c.status): c.count for c in counts}
        for name in sorted({c.name for c in counts}):
            for status in JobStatus:
                count = found.get((name, status), 0)
                jobs.add_metric([queue_for(name), name, status.value], count)
        yield jobs
