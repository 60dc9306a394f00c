"""The ``diarize`` job: label who said what in a completed meeting, from its stored audio.

Queued when a recording or an upload completes its meeting (``Settings.post_meeting_jobs``)
and by ``POST /api/meetings/{id}/diarize``. Idempotent: run again, it labels the meeting anew,
keeping the names people gave (``assign``). The audio is read in chunks of ``CHUNK_S``, so a
long meeting is never in memory at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mina import store
from mina.audio import pcm16_to_float32
from mina.audiostore import audio_size, read_pcm
from mina.db import transaction
from mina.jobs.base import JobContext, JobError, MeetingGone
from mina.models import Meeting, MeetingStatus
from mina.speakers.assign import plan_changes
from mina.speakers.diarize import CHUNK_S, SAMPLE_RATE, Audio, diarize_chunks

logger = logging.getLogger(__name__)

JOB_NAME = "diarize"
MAX_SPEAKERS = 20


@dataclass(frozen=True)
class _Target:
    meeting_id: int
    speakers: int | None
    files: list[tuple[Path, int]]

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def diarize_meeting(context: JobContext, *, job_id: int) -> None:
    """Label the speakers of the job's meeting (see the module docstring)."""
    target = _load_target(context, job_id)
    if target is None:
        return
    started, cpu = time.perf_counter(), time.process_time()
    turns = diarize_chunks(_chunks(context, job_id, target), speakers=target.speakers)
    context.check_stop()
    with transaction(context.sessions) as session:
        # the meeting row before its segments and the job's own row (see store.lock_meeting)
        if store.lock_meeting(session, meeting_id=target.meeting_id) is None:
            return  # deleted meanwhile: this job's row went with it
        views = store.load_segment_views(session, meeting_id=target.meeting_id)
        changes = plan_changes(views, turns)
        added = store.apply_speaker_changes(session, meeting_id=target.meeting_id, changes=changes)
        found = len({t.speaker for t in turns})
        job = store.load_job(session, job_id=job_id)
        payload = dict(job.payload) if job is not None and isinstance(job.payload, dict) else {}
        payload["speakers_found"] = found
        store.update_job(session, job_id=job_id, progress=1.0, payload=payload)
    minutes = target.total_bytes / (2 * SAMPLE_RATE) / 60
    logger.info(
        "meeting %s: %d speakers in %.1f min of audio, %d segments split, "
        "%.1f s (%.1f CPU s per audio minute)",
        target.meeting_id,
        found,
        minutes,
        added,
        time.perf_counter() - started,
        (time.process_time() - cpu) / max(minutes, 1e-9),
    )


def _load_target(context: JobContext, job_id: int) -> _Target | None:
    with transaction(context.sessions) as session:
        job = store.load_job(session, job_id=job_id)
        if job is None or job.meeting_id is None:
            return None
        meeting = session.get(Meeting, job.meeting_id)
        if meeting is None:
            return None
        if meeting.status in (MeetingStatus.LIVE, MeetingStatus.PROCESSING):
            raise JobError("The meeting is still being recorded or transcribed.")
        hint = job.payload.get("speakers") if isinstance(job.payload, dict) else None
        speakers = hint if isinstance(hint, int) else meeting.expected_speakers
        files = []
        for recording in store.list_recordings(session, meeting_id=meeting.id):
            if not recording.audio_path:
                continue
            path = Path(recording.audio_path)
            on_disk = audio_size(path)
            size = min(on_disk, recording.audio_bytes or on_disk)
            if size >= 2:
                files.append((path, size - size % 2))
        return _Target(meeting.id, speakers, files)


def _chunks(context: JobContext, job_id: int, target: _Target) -> Iterator[Audio]:
    """The meeting's audio in chunks of ``CHUNK_S`` (recordings one after another), the job's
    progress recorded as they are read."""
    step = int(CHUNK_S * SAMPLE_RATE) * 2
    done, total = 0, max(1, target.total_bytes)
    for path, size in target.files:
        for start in range(0, size, step):
            context.check_stop()
            try:
                data = read_pcm(path, start, min(size, start + step))
            except FileNotFoundError:
                if _meeting_exists(context, target.meeting_id):
                    raise
                raise MeetingGone() from None
            if data:
                yield pcm16_to_float32(data)
            done += len(data)
            with transaction(context.sessions) as session:
                store.update_job(session, job_id=job_id, progress=0.9 * done / total)


def _meeting_exists(context: JobContext, meeting_id: int) -> bool:
    with transaction(context.sessions) as session:
        return store.get_meeting_unscoped(session, meeting_id=meeting_id) is not None
