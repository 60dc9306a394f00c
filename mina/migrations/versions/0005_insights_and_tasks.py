"""meeting insights, tasks, and each segment's sentiment

meeting_insights: one row per meeting, what an insight provider made of it (summary, action
items, decisions, questions, topics, sentiment as JSON citing segments), with the provider, the
model, when, and whether the transcript was edited since (stale).

tasks: action items turned into tasks once (source 'insights', found again by origin_key within
their meeting) and tasks people add (source 'manual'); open or done, an assignee, a due date, the
meeting and segment they come from. A deleted task from insights stays as a tombstone
(deleted_at) so regenerating insights never brings it back.

segments.sentiment: compound sentiment in [-1, 1] (nullable), written by the insights job.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # a plain ALTER TABLE on SQLite too: a batch copy would drop the expression index of 0003
    op.add_column("segments", sa.Column("sentiment", sa.Float(), nullable=True))
    op.create_table(
        "meeting_insights",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("generated_at", _utc(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_insights_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_meeting_insights")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("start_ms", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                name="task_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "insights",
                "manual",
                name="task_source",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("origin_key", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("done_at", _utc(), nullable=True),
        sa.Column("deleted_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tasks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_tasks_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_tasks_segment_id_segments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_tasks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("meeting_id", "origin_key", name="uq_tasks_meeting_origin"),
    )
    op.create_index("ix_tasks_meeting_id", "tasks", ["meeting_id"])
    op.create_index("ix_tasks_segment_id", "tasks", ["segment_id"])
    op.create_index("ix_tasks_created_by", "tasks", ["created_by"])
    op.create_index(
        "ix_tasks_workspace_status_due", "tasks", ["workspace_id", "status", "due_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_workspace_status_due", table_name="tasks")
    op.drop_index("ix_tasks_created_by", table_name="tasks")
    op.drop_index("ix_tasks_segment_id", table_name="tasks")
    op.drop_index("ix_tasks_meeting_id", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("meeting_insights")
    op.drop_column("segments", "sentiment")
