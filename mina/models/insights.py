"""What is made of a meeting: its insights, topics and tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mina.models.base import (
    Base,
    TaskSource,
    TaskStatus,
    string_enum,
    utcnow,
)


class MeetingInsights(Base):
    """What a provider made of one meeting (``mina.insights``): the items as JSON (each citing
    its segment), who made them and when. ``stale`` once the transcript was edited after."""

    __tablename__ = "meeting_insights"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # the meeting's overall sentiment, also in ``data``: a column so analytics averages it
    sentiment: Mapped[float | None] = mapped_column(Float)
    # {summary, action_items, decisions, questions, topics, sentiment: {overall, by_speaker},
    #  note}: the shapes of ``GET /api/meetings/{id}/insights``
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MeetingTopic(Base):
    """A topic of a meeting's insights as a narrow row, so analytics sums topics per week
    without parsing each meeting's insights JSON; ``store.save_insights`` keeps it. ``key`` is
    the label lower-cased (one row per topic whatever its case), ``label`` as written."""

    __tablename__ = "meeting_topics"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)


class Task(Base):
    """Something to do, across meetings: an action item of a meeting's insights (made once,
    never duplicated by regenerating) or added by a person.

    ``origin_key`` identifies the action item a task came from within its meeting, so
    regenerating insights finds the task again. A deleted task from insights stays as a
    tombstone (``deleted_at``, its text cleared) so regenerating never brings it back."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("meeting_id", "origin_key", name="uq_tasks_meeting_origin"),
        Index("ix_tasks_workspace_status_due", "workspace_id", "status", "due_date"),
        # analytics: the tasks opened and done in a period
        Index("ix_tasks_workspace_created", "workspace_id", "created_at"),
        Index("ix_tasks_workspace_done", "workspace_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    start_ms: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[TaskStatus] = mapped_column(
        string_enum(TaskStatus, "task_status"), default=TaskStatus.OPEN
    )
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[TaskSource] = mapped_column(
        string_enum(TaskSource, "task_source"), default=TaskSource.MANUAL
    )
    origin_key: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
