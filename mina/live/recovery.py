"""Recovery of recordings whose process died: nothing acknowledged is lost, no meeting stays live.

A recording is stale when its heartbeat stopped (server killed, machine rebooted). Recovery
claims it, transcribes the audio on disk that no segment covers yet, stores those segments,
marks the session interrupted and recovered, and completes the meeting. It runs at start-up,
periodically while serving, and by hand with ``mina recover``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.audio import pcm16_to_float32
from mina.audiostore import audio_size, read_pcm
from mina.db import transaction
from mina.engines.base import SpeechEngine
from mina.live.config import StreamConfig
from mina.live.final_segments import to_new_segment
from mina.live.transcription import transcribe_audio
from mina.models import SessionStatus, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    external_id: str
    meeting_id: int
    audio_bytes: int
    new_segments: int


def recover_stale(
    sessions: sessionmaker[Session],
    engine: SpeechEngine,
    *,
    stale_after_s: float,
    config: StreamConfig | None = None,
    held: Collection[str] = (),
    after: Sequence[str] = (),
) -> list[Recovered]:
    """Recover every stale recording but those ``held`` (external ids this process records:
        a heartbeat late under load does not make them dead). ``after``: the post-meeting jobs to
    queue for each meeting this completes. Blocking (decodes audio): call it
        from a worker thread."""
    with transaction(sessions) as session:
        claimed = store.claim_stale_recordings(
            session, stale_before=utcnow() - timedelta(seconds=stale_after_s), held=held
        )
        targets = [
            (r.id, r.external_id, r.meeting_id, r.audio_path, r.sample_rate) for r in claimed
        ]
    results = []
    for recording_id, external_id, meeting_id, audio_path, sample_rate in targets:
        try:
            results.append(
                _recover_one(
                    sessions,
                    engine,
                    recording_id,
                    external_id,
                    meeting_id,
                    Path(audio_path),
                    sample_rate,
                    config or StreamConfig(),
                    after,
                )
            )
        except Exception:
            logger.exception("recovery of recording %s failed; it will be retried", external_id)
    return results


def _recover_one(
    sessions: sessionmaker[Session],
    engine: SpeechEngine,
    recording_id: int,
    external_id: str,
    meeting_id: int,
    path: Path,
    sample_rate: int,
    config: StreamConfig,
    after: Sequence[str],
) -> Recovered:
    with transaction(sessions) as session:
        next_seq, last_end_ms = store.recording_progress(session, recording_id=recording_id)
    size = audio_size(path) if str(path) else 0
    size -= size % 2
    start_byte = last_end_ms * sample_rate // 1000 * 2
    new: list[store.NewSegment] = []
    if size > start_byte:
        audio = pcm16_to_float32(read_pcm(path, start_byte, size))
        segments = transcribe_audio(
            engine, audio, config=config, offset_s=start_byte / 2 / sample_rate
        )
        new = [to_new_segment(segment, next_seq + i) for i, segment in enumerate(segments)]
    with transaction(sessions) as session:
        if new:
            store.add_segments(
                session, recording_id=recording_id, meeting_id=meeting_id, segments=new
            )
        store.finish_recording(
            session,
            recording_id=recording_id,
            audio_bytes=size,
            status=SessionStatus.INTERRUPTED,
            recovered=True,
            after=after,
        )
    logger.info(
        "recovered recording %s: %d bytes of audio, %d new segments", external_id, size, len(new)
    )
    return Recovered(external_id, meeting_id, size, len(new))
