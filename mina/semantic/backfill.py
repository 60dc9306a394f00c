"""Embedding meetings in bulk outside the job queue: ``mina embed`` (an archive recorded before
search by meaning, or after ``MINA_EMBEDDING_MODEL`` changed) and ``mina demo-data --embed``;
and what a web process says when meetings wait for it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import transaction
from mina.semantic.job import embed_passages, meeting_passages
from mina.semantic.model import DEFAULT_MODEL
from mina.store.passages import count_meetings_embedded_otherwise, replace_passages


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


def waiting_for_embedding(session: Session, *, model: str) -> str | None:
    """What to tell the operator when meetings were embedded with another model than the
    configured ``model`` (a changed setting, or a process configured differently): search by
    meaning and Ask do not see them until they are embedded again. None when none are."""
    count = count_meetings_embedded_otherwise(session, model=model)
    if not count:
        return None
    return (
        f"{count} meeting(s) were embedded with another model than MINA_EMBEDDING_MODEL="
        f"{model}: search by meaning and Ask find them by keyword only until "
        "`mina embed --all --missing` embeds them again (and every process of this "
        "deployment needs the same MINA_EMBEDDING_MODEL)"
    )
