"""What the live recordings of one process share: the database, the speech engine and its
decode pool, the event bus, the stream settings, the pacer, the recordings held here and,
with several processes, their leases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from mina.db import transaction
from mina.engines.base import SpeechEngine
from mina.live.config import StreamConfig
from mina.live.events import EventBus
from mina.live.pacing import StepPacer
from mina.speakers.live import LiveSpeakers

if TYPE_CHECKING:
    from mina.cluster import RecordingLeases
    from mina.live.recorder import Recorder


@dataclass
class LiveServices:
    """What recordings share in one process."""

    sessions: sessionmaker[Session]
    engine_loader: Callable[[], Awaitable[SpeechEngine]]
    decode_pool: ThreadPoolExecutor
    bus: EventBus
    stream_config: StreamConfig
    resume_grace_s: float
    heartbeat_s: float
    # streaming (interim) decodes run only while fewer than this many live steps are running:
    # when streams outnumber the engine's replicas, interim text comes less often and final
    # decodes do not queue behind interim ones
    interim_slots: int = 1
    # called with the meeting's id once a recording is finalised (the app enqueues the
    # meeting's playback copy); never raises into the recorder
    recording_finished: Callable[[int], None] | None = None
    # the jobs queued when a recording completes its meeting (``Settings.post_meeting_jobs``)
    after_jobs: tuple[str, ...] = ()
    # gives each recording its provisional speaker labels (None: final segments go unlabelled)
    live_speakers: Callable[[], LiveSpeakers] | None = None
    # several web processes (MINA_REDIS_URL): which one records each recording; None: this one
    leases: RecordingLeases | None = None
    # how long a resume waits for the process that recorded before to let go of the audio file
    handover_timeout_s: float = 15.0
    # takes each confirmed-word lag in seconds (the app's metrics); None: not measured
    word_lag: Callable[[float], None] | None = None
    # chooses each stream's interim step from the measured load; None: ``min_step_s`` always
    pacer: StepPacer | None = None
    # the fsyncs that come before each ack, on threads of their own so they never queue behind
    # database work (None: asyncio's default threads, which the database calls use)
    audio_pool: ThreadPoolExecutor | None = None
    steps_running: int = 0
    recorders: dict[str, Recorder] = field(default_factory=dict)
    restore_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _handovers: set[asyncio.Task[None]] = field(default_factory=set)

    def taken_elsewhere(self, external_id: str) -> None:
        """Another process resumed this recording: this one stops writing it (event loop)."""
        recorder = self.recorders.get(external_id)
        if recorder is not None:
            task = asyncio.create_task(recorder.hand_over(), name=f"hand over {external_id}")
            self._handovers.add(task)
            task.add_done_callback(self._handovers.discard)

    async def db(self, work: Callable[[Session], Any]) -> Any:
        """Run ``work(session)`` in a worker thread inside one transaction."""

        def run() -> Any:
            with transaction(self.sessions) as session:
                return work(session)

        return await asyncio.to_thread(run)
