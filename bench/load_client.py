"""The client side of ``bench load``: live streams paced in real time, and their viewers.

One process runs its share of a step's streams on one asyncio loop (``run_client``, the target
of a ``multiprocessing`` process): it opens every stream (``start``, then the viewers of its
meeting, each waiting for the transcript so far), reports ready, waits for the common start time,
sends each stream's frames at their wall-clock times, ``stop``s, waits for ``stopped`` and asks
the API whether the meeting is completed. Times are ``time.monotonic()``, one clock for every
process of the machine, so the parent can set one start time for all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from mina.audio import float32_to_pcm16
from mina.engines.fake import synthesize_words

SAMPLE_RATE = 16000
BYTES_PER_SECOND = 2 * SAMPLE_RATE
OPEN_AT_ONCE = 16  # connections being opened at the same time, per client process
STOP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class StreamPlan:
    """One live stream: where it records, where its viewers follow it, and its timing."""

    index: int
    http_url: str  # the process it records on (API)
    ws_url: str
    viewer_ws_url: str  # the process its viewers follow it on
    viewers: int
    phase_s: float  # offset of its frames within one frame period


@dataclass(frozen=True)
class ClientJob:
    plans: list[StreamPlan]
    token: str
    seconds: float
    frame_ms: int


@dataclass
class StreamOutcome:
    index: int
    meeting_id: int | None = None
    frame_to_ack_s: list[float] = field(default_factory=list)  # each frame: send to its ack
    ack_delay_s: list[float] = field(default_factory=list)  # each ack: its newest frame to it
    send_late_s: list[float] = field(default_factory=list)  # each frame: scheduled to sent
    unacked_frames: int = 0  # frames no ack covered before ``stopped``
    events: int = 0  # interim and final events the stream's own client received
    expected_deliveries: int = 0  # events x viewers
    delivered: int = 0  # of those, received by the viewer
    fanout_lag_s: list[float] = field(default_factory=list)  # viewer minus own client
    words_spoken: int = 0
    words_stored: int | None = None
    status: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ClientResult:
    outcomes: list[StreamOutcome]
    cpu_seconds: float  # this client process, from the start time to the last stop
    finished_at: float


@dataclass
class _Viewer:
    ws: ClientConnection
    events: list[tuple[str, float]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


@dataclass
class _Open:
    plan: StreamPlan
    outcome: StreamOutcome
    ws: ClientConnection | None = None
    viewers: list[_Viewer] = field(default_factory=list)


@dataclass(frozen=True)
class Speech:
    """Tone-burst sentences the fake engine reads as words, and how many words they hold."""

    sentences: list[bytes]
    words: int

    @property
    def seconds(self) -> float:
        return sum(len(sentence) for sentence in self.sentences) / BYTES_PER_SECOND

    def rotated(self, by: int) -> bytes:
        """The same sentences starting at another one, so streams do not decode in lockstep."""
        by %= len(self.sentences)
        return b"".join(self.sentences[by:] + self.sentences[:by])


def build_speech(seconds: float) -> Speech:
    """At least ``seconds`` of sentences of 3 to 6 words, with pauses between them."""
    sentences: list[bytes] = []
    words, total = 0, 0.0
    number = 0
    while total < seconds:
        count = 3 + len(sentences) % 4
        numbers = [(number + i * 7) % 150 for i in range(count)]
        number += count
        audio = synthesize_words(numbers, lead_s=0.4, tail_s=0.4)
        sentences.append(float32_to_pcm16(np.asarray(audio)))
        words += count
        total += audio.size / SAMPLE_RATE
    return Speech(sentences, words)


def run_client(job: ClientJob, parent: Connection) -> None:
    """Process entry: open, say ready, wait for the start time, stream, send back results."""
    result = asyncio.run(_run(job, parent))
    parent.send(result)
    parent.close()


async def _run(job: ClientJob, parent: Connection) -> ClientResult:
    loop = asyncio.get_running_loop()
    speech = build_speech(job.seconds)
    opening = asyncio.Semaphore(OPEN_AT_ONCE)
    opened = await asyncio.gather(*(_open(plan, job.token, opening) for plan in job.plans))
    parent.send("ready")
    start_at: float = await loop.run_in_executor(None, parent.recv)
    cpu_before = time.process_time()
    await asyncio.gather(
        *(_stream(one, speech, start_at, job.frame_ms) for one in opened if one.ws is not None)
    )
    cpu = time.process_time() - cpu_before
    finished_at = time.monotonic()
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {job.token}"}, timeout=60
    ) as client:
        await asyncio.gather(*(_check_completed(client, one) for one in opened))
    return ClientResult([one.outcome for one in opened], cpu, finished_at)


def _connect(url: str, token: str) -> Any:
    return connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=60,
        close_timeout=10,
        max_queue=None,  # read everything: a full queue would stall the reader, not the server
        ping_interval=None,  # browsers send no pings; the server's own pings are answered
    )


async def _open(plan: StreamPlan, token: str, opening: asyncio.Semaphore) -> _Open:
    one = _Open(plan, StreamOutcome(plan.index))
    async with opening:
        try:
            one.ws = await _connect(f"{plan.ws_url}/ws/transcribe", token)
            await one.ws.send(
                json.dumps({"type": "start", "title": f"Load {plan.index}", "sample_rate": 16000})
            )
            started = json.loads(await asyncio.wait_for(one.ws.recv(), 60))
            if started.get("type") != "started":
                raise RuntimeError(f"start answered {started}")
            one.outcome.meeting_id = started["meeting_id"]
            live = f"{plan.viewer_ws_url}/ws/meetings/{started['meeting_id']}/live"
            for _ in range(plan.viewers):
                viewer = _Viewer(await _connect(live, token))
                so_far = json.loads(await asyncio.wait_for(viewer.ws.recv(), 60))
                if so_far.get("type") != "transcript" or so_far.get("status") != "live":
                    raise RuntimeError(f"viewer got {so_far}")
                viewer.task = asyncio.create_task(_follow(viewer))
                one.viewers.append(viewer)
        except (OSError, RuntimeError, TimeoutError, ConnectionClosed) as exc:
            one.outcome.errors.append(f"opening: {exc!r}")
            if one.ws is not None:
                await one.ws.close()
                one.ws = None
    return one


async def _follow(viewer: _Viewer) -> None:
    """A viewer's interim and final events with their arrival times, up to ``stopped``."""
    async for message in viewer.ws:
        event = json.loads(message)
        if event.get("type") in ("interim", "final"):
            viewer.events.append((json.dumps(event, sort_keys=True), time.monotonic()))
        elif event.get("type") == "stopped":
            return


async def _stream(one: _Open, speech: Speech, start_at: float, frame_ms: int) -> None:
    ws, outcome = one.ws, one.outcome
    assert ws is not None
    pcm = speech.rotated(one.plan.index)
    outcome.words_spoken = speech.words
    frame = BYTES_PER_SECOND * frame_ms // 1000
    pending: deque[tuple[int, float]] = deque()  # (end offset, sent at) of unacked frames
    events: list[tuple[str, float]] = []
    stopped: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    reader = asyncio.create_task(_read(ws, outcome, pending, events, stopped))
    first = start_at + one.plan.phase_s
    try:
        for number, offset in enumerate(range(0, len(pcm), frame)):
            due = first + number * frame_ms / 1000
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = time.monotonic()
            outcome.send_late_s.append(max(0.0, sent - due))
            end = min(offset + frame, len(pcm))
            pending.append((end, sent))
            await ws.send(pcm[offset:end])
        await ws.send(json.dumps({"type": "stop"}))
        answer = await asyncio.wait_for(asyncio.shield(stopped), STOP_TIMEOUT_S)
        outcome.words_stored = answer.get("words")
        outcome.unacked_frames = len(pending)
    except (OSError, TimeoutError, ConnectionClosed) as exc:
        outcome.errors.append(f"streaming: {exc!r}")
    finally:
        reader.cancel()
        await ws.close()
    await _collect_viewers(one, events)


async def _read(
    ws: ClientConnection,
    outcome: StreamOutcome,
    pending: deque[tuple[int, float]],
    events: list[tuple[str, float]],
    stopped: asyncio.Future[dict[str, Any]],
) -> None:
    try:
        async for message in ws:
            now = time.monotonic()
            event = json.loads(message)
            kind = event.get("type")
            if kind == "ack":
                newest = None
                while pending and pending[0][0] <= event["received_bytes"]:
                    _, newest = pending.popleft()
                    outcome.frame_to_ack_s.append(now - newest)
                if newest is not None:
                    outcome.ack_delay_s.append(now - newest)
            elif kind in ("interim", "final"):
                events.append((json.dumps(event, sort_keys=True), now))
            elif kind == "stopped":
                stopped.set_result(event)
                return
            elif kind == "error":
                outcome.errors.append(f"server error: {event}")
    except ConnectionClosed as exc:
        if not stopped.done():
            outcome.errors.append(f"closed before stopped: {exc!r}")
            stopped.set_exception(exc)


async def _collect_viewers(one: _Open, events: list[tuple[str, float]]) -> None:
    """Match every event of the stream's own client with the same event at each viewer."""
    outcome = one.outcome
    outcome.events = len(events)
    for viewer in one.viewers:
        assert viewer.task is not None
        try:
            await asyncio.wait_for(viewer.task, STOP_TIMEOUT_S)
        except (TimeoutError, ConnectionClosed) as exc:
            outcome.errors.append(f"viewer: {exc!r}")
        await viewer.ws.close()
        arrivals: dict[str, deque[float]] = {}
        for key, at in viewer.events:
            arrivals.setdefault(key, deque()).append(at)
        outcome.expected_deliveries += len(events)
        for key, at in events:
            queue = arrivals.get(key)
            if queue:
                outcome.delivered += 1
                outcome.fanout_lag_s.append(queue.popleft() - at)
        extra = sum(len(queue) for queue in arrivals.values())
        if extra:
            outcome.errors.append(f"a viewer got {extra} events its stream's client did not")


async def _check_completed(client: httpx.AsyncClient, one: _Open) -> None:
    outcome = one.outcome
    if outcome.meeting_id is None:
        return
    try:
        answer = await client.get(f"{one.plan.http_url}/api/meetings/{outcome.meeting_id}")
        outcome.status = answer.json().get("status") if answer.status_code == 200 else None
    except httpx.HTTPError as exc:
        outcome.errors.append(f"status: {exc!r}")
    if outcome.status != "completed":  # "live": dropped, the server waits for a resume
        outcome.errors.append(f"meeting {outcome.meeting_id} is {outcome.status}, not completed")
    if outcome.words_stored is not None and outcome.words_stored != outcome.words_spoken:
        outcome.errors.append(
            f"meeting {outcome.meeting_id}: {outcome.words_stored} words stored of "
            f"{outcome.words_spoken} spoken"
        )
