"""meeting_topics and task indexes for analytics over insights and tasks

meeting_topics: each topic of a meeting's insights as a narrow row (label as written, keyed
lower-cased, weight), kept by store.save_insights, so analytics sums topics per week without
reading and parsing each meeting's insights JSON (a few KB a meeting: 350-450 ms for a year of
5,000 meetings on either database). Filled here from the insights already made.

ix_tasks_workspace_created and ix_tasks_workspace_done find the tasks opened and done in a
period (instead of every task of the workspace).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABEL_MAX = 200


def upgrade() -> None:
    op.create_table(
        "meeting_topics",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=LABEL_MAX), nullable=False),
        sa.Column("label", sa.String(length=LABEL_MAX), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_topics_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "key", name=op.f("pk_meeting_topics")),
    )
    op.create_index("ix_tasks_workspace_created", "tasks", ["workspace_id", "created_at"])
    op.create_index("ix_tasks_workspace_done", "tasks", ["workspace_id", "done_at"])

    connection = op.get_bind()
    insights = sa.table("meeting_insights", sa.column("meeting_id"), sa.column("data", sa.JSON))
    topics = sa.table(
        "meeting_topics",
        sa.column("meeting_id"),
        sa.column("key"),
        sa.column("label"),
        sa.column("weight"),
    )
    for meeting_id, data in connection.execute(sa.select(insights.c.meeting_id, insights.c.data)):
        rows = topic_rows(meeting_id, (data or {}).get("topics"))
        if rows:
            connection.execute(topics.insert(), rows)


def topic_rows(meeting_id: int, topics: object) -> list[dict[str, object]]:
    """The same rows as mina.store.insights writes (a frozen copy: migrations never import it)."""
    rows: dict[str, dict[str, object]] = {}
    for topic in topics if isinstance(topics, list) else []:
        if not isinstance(topic, dict):
            continue
        label = " ".join(str(topic.get("label") or "").split())[:LABEL_MAX]
        try:
            weight = float(topic.get("weight") or 0.0)
        except (TypeError, ValueError):
            continue
        if label and label.lower() not in rows:
            key = label.lower()
            rows[key] = {"meeting_id": meeting_id, "key": key, "label": label, "weight": weight}
    return list(rows.values())


def downgrade() -> None:
    op.drop_index("ix_tasks_workspace_done", table_name="tasks")
    op.drop_index("ix_tasks_workspace_created", table_name="tasks")
    op.drop_table("meeting_topics")
