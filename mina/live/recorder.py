"""A live recording: audio to disk, the stream session, segment commits, acks and heartbeats.

The WebSocket handler owns the protocol; a ``Recorder`` owns everything that must outlive one
connection. When the browser drops, the recorder keeps transcribing what it has and waits
``resume_grace_s`` for a ``resume``; only then does it finalise the meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mina import store
from mina.audiostore import AudioWriter, read_bytes
from mina.live.final_segments import to_new_segment
from mina.live.services import LiveServices
from mina.live.streaming import StepResult, StreamSession
from mina.models import RecordingSession, Segment
from mina.observability.context import recording_context
from mina.observability.lag import WordLagMeter
from mina.shapes import interim_json, segment_json

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Notify = Callable[[], Awaitable[None]]

ACK_INTERVAL_S = 1.0
FRAME_SLACK_S = 0.25  # how long past the ack interval the sync loop waits for a frame
COMMIT_BATCH = 5  # DESIGN.md 4: at most 5 segments or 2 seconds per commit


@dataclass(frozen=True)
class StopSummary:
    meeting_id: int
    duration_ms: int
    segments: int
    words: int


class Recorder:
    def __init__(
        self,
        services: LiveServices,
        *,
        recording: RecordingSession,
        stream: StreamSession,
        writer: AudioWriter,
        next_seq: int,
    ) -> None:
        self.services = services
        self.recording_id = recording.id
        self.external_id = recording.external_id
        self.meeting_id = recording.meeting_id
        self.workspace_id = recording.workspace_id
        self.resume_token_hash = recording.resume_token_hash
        self.sample_rate = recording.sample_rate
        self.stream = stream
        self.writer = writer
        self.speakers = services.live_speakers() if services.live_speakers else None
        self.lag = (
            WordLagMeter(
                services.word_lag,
                sample_rate=recording.sample_rate,
                start_s=stream.stream_position,
                known_from_bytes=writer.written,
            )
            if services.word_lag is not None
            else None
        )
        self._next_seq = next_seq
        self._send: Send | None = None
        self._on_taken_over: Notify | None = None
        self.taken_over = False  # another process continues it: nothing more is written here
        self._wake = asyncio.Event()
        self._stepping = False  # a stream step runs in the decode pool
        self._commit_wake = asyncio.Event()
        self._unsaved: list[store.NewSegment] = []
        self._commit_lock = asyncio.Lock()
        self._closing = False  # no more segments will come: the commit loop ends when drained
        self._stopping = False
        self._stopped: asyncio.Future[StopSummary] = asyncio.get_running_loop().create_future()
        self._acked = writer.durable
        # the frame that completes a second since the last ack wakes the sync loop at once, so
        # an ack follows its newest frame by an fsync, not by the phase of a free-running timer
        self._sync_wake = asyncio.Event()
        self._last_sync = time.monotonic()
        self._sync_tick_s = min(ACK_INTERVAL_S, services.heartbeat_s)
        self._tasks: list[asyncio.Task[None]] = []
        self._grace: asyncio.Task[None] | None = None
        self._finalising: asyncio.Task[None] | None = None
        self._renewing: asyncio.Task[None] | None = None
        self._interim: dict[str, Any] | None = None
        self.segments_saved = 0
        self.db_seconds = 0.0  # wall time of database work (statements and commits)
        self.db_cpu_seconds = 0.0  # CPU time of the same: its cost, whatever else runs
        self.db_transactions = 0
        self._last_beat = time.monotonic()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self.services.recorders[self.external_id] = self
        # the recording's log lines name its meeting and session, whichever connection feeds it
        context = recording_context(meeting=self.meeting_id, session=self.external_id)
        self._tasks = [
            asyncio.create_task(
                self._process_loop(), name=f"process {self.external_id}", context=context.copy()
            ),
            asyncio.create_task(
                self._commit_loop(), name=f"commit {self.external_id}", context=context.copy()
            ),
            asyncio.create_task(
                self._sync_loop(), name=f"sync {self.external_id}", context=context.copy()
            ),
        ]

    @property
    def received_bytes(self) -> int:
        return self.writer.written

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def unacked_bytes(self) -> int:
        """Audio received and not yet covered by an ack."""
        return self.writer.written - self._acked

    def feed(self, data: bytes) -> None:
        """An audio frame: appended to the file at once, queued for the stream session."""
        if self._stopping or self.taken_over:
            raise RuntimeError("recording is stopping")
        self.writer.append(data)
        if self.lag is not None:
            self.lag.mark_audio(self.writer.written)
        self.stream.feed(data)
        if not self._sync_wake.is_set() and time.monotonic() - self._last_sync >= self._sync_tick_s:
            self._sync_wake.set()
        if self._stepping or self._wake.is_set() or self._ready_step() is not None:
            self._wake.set()

    def _ready_step(self) -> tuple[bool, float | None] | None:
        """The stream step's ``decode_interim`` and ``step_s`` when it must run in the decode
        pool now; None when it is deferred to the next one, which runs it there first (a frame
        of speech that cannot decode yet costs no hop to the pool). Between steps only, on the
        event loop: microseconds."""
        services = self.services
        decode_interim = services.steps_running < services.interim_slots
        step_s = services.pacer.step_s(self.external_id) if services.pacer else None
        if self.stream.may_work(decode_interim=decode_interim, step_s=step_s):
            return decode_interim, step_s
        self.stream.defer(decode_interim=decode_interim, step_s=step_s)
        return None

    def attach(self, send: Send, on_taken_over: Notify | None = None) -> None:
        """Send events to this connection from now on (a resume supersedes an older one);
        ``on_taken_over`` closes it when another process takes the recording over."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._send = send
        self._on_taken_over = on_taken_over

    def is_attached(self, send: Send) -> bool:
        return self._send is not None and self._send == send

    def detach(self, send: Send) -> None:
        """The connection dropped: keep working, wait for a resume, then finalise."""
        if not self.is_attached(send):
            return  # an older connection, already superseded by a resume
        self._send = None
        self._on_taken_over = None
        if self._stopping or self._grace is not None:
            return
        logger.info(
            "recording %s lost its connection; waiting %.0f s for a resume",
            self.external_id,
            self.services.resume_grace_s,
        )
        self._grace = asyncio.create_task(self._grace_timer())

    async def stop(self) -> StopSummary:
        """Drain, finalise and complete the meeting. Safe to call more than once."""
        if self._finalising is None:
            self._stopping = True
            self._wake.set()
            self._finalising = asyncio.create_task(self._finalise())
        return await asyncio.shield(self._stopped)

    async def hand_over(self) -> None:
        """Another process resumed this recording (it holds the lease now): stop writing at
        once, close the connection, make the audio and segments this process has durable, and
        close the file, whose lock the other process waits for before it restores."""
        if self.taken_over or self._finalising is not None:
            return
        self.taken_over = True
        logger.info("recording %s continues on another process; handing it over", self.external_id)
        notify, self._send, self._on_taken_over = self._on_taken_over, None, None
        if notify is not None:
            await notify()  # never raises: the socket may be gone already
        await self.suspend()

    async def suspend(self) -> None:
        """Server shutdown: make audio and segments durable, leave the session resumable.

        The session stays active: a browser may resume it on the restarted server, and recovery
        completes it once its heartbeat is stale, as for a server that died."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self._finalising is not None:  # already stopping: let it finish
            with contextlib.suppress(Exception):
                await asyncio.shield(self._stopped)
            return
        self._stopping = True
        self._wake.set()
        process, commit, sync = self._tasks
        sync.cancel()
        await asyncio.gather(process, sync, return_exceptions=True)
        self._closing = True
        self._commit_wake.set()
        await asyncio.gather(commit, return_exceptions=True)
        await self.services.bus.flush()  # its last events go out before the next holder's
        await asyncio.to_thread(self.writer.close)
        self.services.recorders.pop(self.external_id, None)
        await self._release()

    async def _release(self) -> None:
        """Let go of the lease (a no-op when another process holds it now)."""
        if self.services.leases is not None:
            await self.services.leases.release(self.external_id)

    # -- loops --------------------------------------------------------------------------------

    async def _process_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            services = self.services
            pacer = services.pacer
            ready = self._ready_step()
            if ready is None:
                continue
            decode_interim, step_s = ready
            step = functools.partial(
                self._labelled,
                functools.partial(self.stream.step, decode_interim=decode_interim, step_s=step_s),
            )
            services.steps_running += 1
            self._stepping = True
            try:
                # the decode thread's log lines carry this recording's ids too
                run = contextvars.copy_context().run
                result = await loop.run_in_executor(services.decode_pool, run, step)
            except Exception:
                logger.exception("stream step failed for %s", self.external_id)
                continue
            finally:
                services.steps_running -= 1
                self._stepping = False
            if pacer is not None and result.interim_decode_s is not None:
                pacer.observe(self.external_id, result.interim_decode_s)
            await self._deliver(result)

    async def _commit_loop(self) -> None:
        while True:
            await self._commit_wake.wait()
            self._commit_wake.clear()
            await self._commit_pending()
            if self._closing and not self._unsaved:
                return

    async def _commit_pending(self) -> None:
        """Store queued segments in batches, then announce them. Never cancelled mid-batch."""
        async with self._commit_lock:
            await self._commit_queued()

    async def _commit_queued(self) -> None:
        while self._unsaved:
            batch, self._unsaved = self._unsaved[:COMMIT_BATCH], self._unsaved[COMMIT_BATCH:]
            try:
                rows = await self._db(functools.partial(self._save, batch))
            except Exception:
                logger.exception("could not store segments of %s; retrying", self.external_id)
                self._unsaved = batch + self._unsaved
                await asyncio.sleep(1)
                continue
            self.segments_saved += len(rows)
            for row in rows:
                event = {"type": "final", "segment": segment_json(row)}
                await self._send_client(event)
                self.services.bus.publish(self.meeting_id, event)
            if self.lag is not None:
                self.lag.observe_words(
                    (w["start_ms"] / 1000, w["end_ms"] / 1000) for s in batch for w in s.words
                )

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        """A unit of database work off the event loop; its time counts towards ``db_seconds``."""

        def timed(session: Session) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return work(session)
            finally:
                session.commit()
                self.db_seconds += time.perf_counter() - started
                self.db_cpu_seconds += time.thread_time() - cpu
                self.db_transactions += 1

        return await self.services.db(timed)

    def _save(self, batch: list[store.NewSegment], session: Session) -> list[Segment]:
        saved = save_segments(
            session,
            recording_id=self.recording_id,
            meeting_id=self.meeting_id,
            segments=batch,
            audio_bytes=self._acked,
        )
        self._last_beat = time.monotonic()
        return saved

    async def _sync_loop(self) -> None:
        """Acks (after an fsync) about once a second, and the heartbeat: woken by the frame that
        completes a second since the last ack, or by the tick when frames pause. A failure (the
        disk, the database) is logged and tried again at the next tick: it must not end the
        loop, or acks would stop and the recording would look dead to recovery."""
        while not self._stopping:
            # the tick waits a little past the second, for a frame to come first
            wait_s = self._last_sync + self._sync_tick_s + FRAME_SLACK_S - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sync_wake.wait(), timeout=max(0.0, wait_s))
            self._sync_wake.clear()
            self._last_sync = time.monotonic()
            try:
                await self._sync_once()
            except Exception:
                logger.exception("could not sync recording %s; retrying", self.external_id)

    async def _sync_once(self) -> None:
        if self.writer.written > self._acked:
            loop = asyncio.get_running_loop()
            durable = await loop.run_in_executor(self.services.audio_pool, self.writer.sync)
            self._acked = durable
            await self._send_client({"type": "ack", "received_bytes": durable})
        if time.monotonic() - self._last_beat >= self.services.heartbeat_s:
            self._last_beat = time.monotonic()
            alive = await self._db(
                lambda s: store.touch_recording(
                    s, recording_id=self.recording_id, audio_bytes=self._acked
                )
            )
            if not alive:
                logger.error("recording %s was closed by another process", self.external_id)
            if self.services.leases is not None and self._renewing is None:
                # beside the acks, which never wait for Redis
                self._renewing = asyncio.create_task(self._renew_lease())

    async def _renew_lease(self) -> None:
        leases = self.services.leases
        if leases is not None and not await leases.renew(self.external_id):
            self.services.taken_elsewhere(self.external_id)
        self._renewing = None

    async def _grace_timer(self) -> None:
        await asyncio.sleep(self.services.resume_grace_s)
        logger.info("recording %s was not resumed; finalising", self.external_id)
        self._grace = None
        await self.stop()

    async def _finalise(self) -> None:
        try:
            await self._tasks[0]
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(
                self.services.decode_pool, self._labelled, self.stream.finish
            )
            await self._deliver(result)
            process, commit, sync = self._tasks
            sync.cancel()
            await asyncio.gather(sync, return_exceptions=True)
            self._closing = True
            self._commit_wake.set()
            await commit
            durable = await asyncio.to_thread(self.writer.sync)
            await asyncio.to_thread(self.writer.close)
            finished = await self._db(
                lambda s: _finish(s, self.recording_id, durable, self.services.after_jobs)
            )
            summary = StopSummary(
                meeting_id=self.meeting_id,
                duration_ms=durable * 1000 // (2 * self.sample_rate),
                segments=finished[0],
                words=finished[1],
            )
            self.services.bus.publish(
                self.meeting_id, {"type": "stopped", "meeting_id": self.meeting_id}
            )
            self._stopped.set_result(summary)
            if self.services.recording_finished is not None:
                self.services.recording_finished(self.meeting_id)
            minutes = max(summary.duration_ms, 1000) / 60000  # at least a second: no audio at all
            logger.info(
                "recording %s completed: %d ms audio, %d segments, %d words, "
                "database %.1f ms (%.2f ms per recorded minute), "
                "database CPU %.1f ms (%.2f ms per recorded minute), %d transactions",
                self.external_id,
                summary.duration_ms,
                summary.segments,
                summary.words,
                self.db_seconds * 1000,
                self.db_seconds * 1000 / minutes,
                self.db_cpu_seconds * 1000,
                self.db_cpu_seconds * 1000 / minutes,
                self.db_transactions,
            )
        except Exception as exc:
            logger.exception("could not finalise recording %s", self.external_id)
            if not self._stopped.done():
                self._stopped.set_exception(exc)
        finally:
            if self._grace is not None:
                self._grace.cancel()
            self.services.recorders.pop(self.external_id, None)
            await self._release()

    # -- output -------------------------------------------------------------------------------

    def _labelled(self, step: Callable[[], StepResult]) -> StepResult:
        """A stream step (in the decode pool), its final segments given provisional speakers
        and their audio let go."""
        result = step()
        if result.finals:
            result.finals = [
                replace(
                    final,
                    audio=None,
                    speaker=self.speakers.label(final.audio) if self.speakers else None,
                )
                for final in result.finals
            ]
        return result

    async def _deliver(self, result: StepResult) -> None:
        if self.lag is not None and result.settled:
            self.lag.observe_words((word.start, word.end) for word in result.settled)
        for segment in result.finals:
            self._unsaved.append(to_new_segment(segment, self._next_seq))
            self._next_seq += 1
        if result.finals:
            self._commit_wake.set()
        if result.interim_changed:
            event = interim_json(result.interim)
            self._interim = event
            await self._send_client(event)
            self.services.bus.publish(self.meeting_id, event)

    @property
    def interim(self) -> dict[str, Any] | None:
        return self._interim

    async def _send_client(self, event: dict[str, Any]) -> None:
        send = self._send
        if send is None:
            return
        try:
            await send(event)
        except Exception:
            # the socket is gone; the handler notices and detaches
            logger.debug("could not send %s to %s", event.get("type"), self.external_id)


def save_segments(
    session: Session,
    *,
    recording_id: int,
    meeting_id: int,
    segments: list[store.NewSegment],
    audio_bytes: int,
) -> list[Segment]:
    """A live recording's segment commit: the segments, and in the same transaction the
    heartbeat (one commit instead of two)."""
    saved = store.add_segments(
        session, recording_id=recording_id, meeting_id=meeting_id, segments=segments
    )
    store.touch_recording(session, recording_id=recording_id, audio_bytes=audio_bytes)
    return saved


def _finish(
    session: Session, recording_id: int, audio_bytes: int, after: tuple[str, ...]
) -> tuple[int, int]:
    recording = store.finish_recording(
        session, recording_id=recording_id, audio_bytes=audio_bytes, after=after
    )
    return recording.total_segments, recording.total_words


async def open_recorder(
    services: LiveServices, recording: RecordingSession, *, restore: bool = False
) -> Recorder:
    """Build and start the recorder of a recording; ``restore`` continues one from disk.

    With leases (several processes), this process takes the recording's lease first, so a
    process recording it lets go, and opens the audio file once that process has closed it
    (AudioBusy if it does not in ``handover_timeout_s``): its segments are committed by then,
    so the progress read next is complete."""
    engine = await services.engine_loader()
    path = Path(recording.audio_path)
    lock_timeout_s: float | None = None
    if services.leases is not None:
        await services.leases.acquire(recording.external_id)
        lock_timeout_s = services.handover_timeout_s
    writer = await asyncio.to_thread(AudioWriter, path, lock_timeout_s=lock_timeout_s)
    next_seq, last_end_ms = 0, 0
    prompt = ""
    if restore:
        try:
            progress = await services.db(
                lambda s: _progress_and_prompt(s, recording.id, writer.durable)
            )
            if progress is None:  # the other process completed it while we waited
                raise RecordingEnded(recording.external_id)
        except BaseException:
            await asyncio.to_thread(writer.close)
            raise
        next_seq, last_end_ms, prompt = progress
    start_sample = last_end_ms * recording.sample_rate // 1000
    stream = StreamSession(engine, services.stream_config, start_sample=start_sample, prompt=prompt)
    if restore:
        # the whole tail, an odd last byte included: the stream carries it, and the client's
        # next frame (sent from ``received_bytes``) completes that sample
        backlog = await asyncio.to_thread(read_bytes, path, start_sample * 2)
        if backlog:
            stream.feed(backlog)
    recorder = Recorder(
        services, recording=recording, stream=stream, writer=writer, next_seq=next_seq
    )
    recorder.start()
    return recorder


class RecordingEnded(Exception):
    """A recording to restore was completed meanwhile (by the process that held it)."""


def _progress_and_prompt(
    session: Session, recording_id: int, audio_bytes: int
) -> tuple[int, int, str] | None:
    """Where a restored recording goes on from (None: it has ended); marks it alive."""
    if not store.touch_recording(session, recording_id=recording_id, audio_bytes=audio_bytes):
        return None
    next_seq, last_end = store.recording_progress(session, recording_id=recording_id)
    texts = [
        s.text for s in store.list_recording_segments(session, recording_id=recording_id, last=5)
    ]
    return next_seq, last_end, " ".join(texts)
