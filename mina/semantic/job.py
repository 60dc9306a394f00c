"""The ``embed`` job: a completed meeting's passages and their embeddings.

Queued when a recording or an upload completes its meeting (``Settings.post_meeting_jobs``,
after ``diarize`` so passages carry speakers), when a segment is edited or a speaker renamed,
and by ``mina embed``. While an earlier ``diarize`` job of the meeting is unfinished it waits
(``JobDeferred``). Idempotent: it replaces the meeting's passages.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from mina import store
from mina.db import transaction
from mina.jobs.base import JobContext, settled_meeting
from mina.models import Meeting
from mina.semantic.index import quantize
from mina.semantic.model import DEFAULT_MODEL, load_encoder
from mina.semantic.passages import Line, PassageText, make_passages
from mina.store.passages import NewPassage, replace_passages

logger = logging.getLogger(__name__)

JOB_NAME = "embed"
WAITS_FOR = ("diarize",)


def embed_meeting_job(context: JobContext, *, job_id: int) -> None:
    with transaction(context.sessions) as session:
        meeting = settled_meeting(session, job_id=job_id, waits_for=WAITS_FOR)
        if meeting is None:
            return
        passages = meeting_passages(session, meeting_id=meeting.id)
        meeting_id = meeting.id
    vectors = embed_passages(passages, model=context.settings.embedding_model)
    context.check_stop()
    with transaction(context.sessions) as session:
        # the meeting row before its passages and segments (see store.lock_meeting)
        meeting = store.lock_meeting(session, meeting_id=meeting_id)
        if meeting is not None:  # else deleted meanwhile: this job's row went with it
            replace_passages(session, meeting=meeting, passages=vectors)


def meeting_passages(session: Session, *, meeting_id: int) -> list[PassageText]:
    lines = [
        Line(s.id, s.start_ms, s.end_ms, s.speaker, s.display_text)
        for s in store.list_transcript(session, meeting_id=meeting_id)
        if s.display_text.strip()
    ]
    return make_passages(lines)


def embed_passages(passages: list[PassageText], *, model: str = DEFAULT_MODEL) -> list[NewPassage]:
    """Each passage with its int8 embedding by ``model`` (blocking: a job thread or the CLI)."""
    started, cpu = time.perf_counter(), time.process_time()
    vectors = load_encoder(model).embed([p.text for p in passages])
    packed = quantize(vectors)
    logger.info(
        "%d passages embedded with %s in %.2f s (%.2f CPU s)",
        len(passages),
        model,
        time.perf_counter() - started,
        time.process_time() - cpu,
    )
    return [
        NewPassage(p.segment_id, p.start_ms, p.end_ms, p.speaker, p.text, vector, scale, model)
        for p, (vector, scale) in zip(passages, packed, strict=True)
    ]


def embed_meeting_now(session: Session, *, meeting: Meeting, model: str = DEFAULT_MODEL) -> int:
    """Embed a meeting in the caller's transaction (the CLI); how many passages."""
    vectors = embed_passages(meeting_passages(session, meeting_id=meeting.id), model=model)
    replace_passages(session, meeting=meeting, passages=vectors)
    return len(vectors)
