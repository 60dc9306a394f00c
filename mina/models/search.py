"""Search by meaning: the embedded passages and the index version of each workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mina.models.base import (
    Base,
    utcnow,
)


class Passage(Base):
    """A stretch of a meeting's transcript with its sentence embedding, for semantic search:
    one segment, or neighbouring segments of one speaker. The vector is int8 (384 or 768 bytes,
    by ``model``), to be multiplied by ``scale``; it is cited at its first segment."""

    __tablename__ = "passages"
    # SQLite: ids only grow (the vector index catches up on ids past the newest it holds)
    __table_args__ = (
        Index("ix_passages_workspace_id_id", "workspace_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    scale: Mapped[float] = mapped_column(Float)
    # the embedding model (``MINA_EMBEDDING_MODEL``): only the configured one's are searched
    model: Mapped[str] = mapped_column(String(40), default="minilm", server_default="minilm")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchVersion(Base):
    """Bumped whenever a workspace's passages change, so every process's in-memory index knows
    to reload them (one primary-key read per search)."""

    __tablename__ = "search_versions"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
