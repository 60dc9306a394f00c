"""comments on segments, and notifications

comments: a remark on one segment (the meeting's id beside it, for loading a meeting's threads
at once), its author (SET NULL when their account is deleted: the comment stays, by "Deleted
user"), the body as written, the member ids it @mentions (JSON), created and edited times. A
comment goes with its segment and its meeting (CASCADE).
notifications: for one user in one workspace, a type (mention, task_assigned, invite), what it
is about (meeting, segment, comment, task), who did it, and when it was read.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("edited_at", _utc(), nullable=True),
        _fk("comments", "meeting_id", "meetings", "CASCADE"),
        _fk("comments", "segment_id", "segments", "CASCADE"),
        _fk("comments", "author_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(op.f("ix_comments_meeting_id"), "comments", ["meeting_id"])
    op.create_index(op.f("ix_comments_author_id"), "comments", ["author_id"])
    op.create_index("ix_comments_segment_created", "comments", ["segment_id", "created_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "mention",
                "task_assigned",
                "invite",
                name="notification_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("read_at", _utc(), nullable=True),
        _fk("notifications", "user_id", "users", "CASCADE"),
        _fk("notifications", "workspace_id", "workspaces", "CASCADE"),
        _fk("notifications", "meeting_id", "meetings", "CASCADE"),
        _fk("notifications", "segment_id", "segments", "SET NULL"),
        _fk("notifications", "comment_id", "comments", "CASCADE"),
        _fk("notifications", "task_id", "tasks", "CASCADE"),
        _fk("notifications", "actor_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    for column in ("workspace_id", "meeting_id", "segment_id", "comment_id", "task_id", "actor_id"):
        op.create_index(op.f(f"ix_notifications_{column}"), "notifications", [column])
    op.create_index(
        "ix_notifications_user_workspace_id", "notifications", ["user_id", "workspace_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("comments")
