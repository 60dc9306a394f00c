"""Embedding meetings in bulk outside the job queue: ``mina embed`` (an archive recorded before
search by meaning) and ``mina demo-data --embed``."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.semantic.job import embed_passages, meeting_passages
from mina.semantic.model import DEFAULT_MODEL
from mina.store.passages import replace_passages


class EmbedError(Exception):
    """A meeting that cannot be embedded (missing, or not completed)."""


def embed_meetings(
    factory: sessionmaker[Session], meeting_ids: Iterable[int], *, model: str = DEFAULT_MODEL
) -> int:
    """Embed each meeting's passages with ``model`` (replacing any it had), a transaction each,
    the model run outside them; how many passages. A running server picks them up at its next
    search."""
    total = 0
    for meeting_id in meeting_ids:
        with transaction(factory) as session:
            meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
            if meeting is None:
                raise EmbedError(f"no meeting {meeting_id}")
            if meeting.status is not store.MeetingStatus.COMPLETED:
                raise EmbedError(f"meeting {meeting_id} is not completed")
            passages = meeting_passages(session, meeting_id=meeting_id)
        made = embed_passages(passages, model=model)
        with transaction(factory) as session:
            meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
            if meeting is not None:  # deleted meanwhile
                replace_passages(session, meeting=meeting, passages=made)
                total += len(made)
    return total
