"""the job queue on workers, and leases for periodic work

jobs.sent_at: when a queued job was last sent to the Celery broker (MINA_QUEUE_URL), so that
one web process sends it, once, and a job whose message was lost is sent again.
jobs.heartbeat_at: when the worker running a job last said it is alive; a running job whose
heartbeat is stale (its worker died) is sent again.
leases: periodic work that one process at a time does (recovery of stale recordings,
housekeeping, webhook retries): who holds it and until when.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("sent_at", _utc(), nullable=True))
    op.add_column("jobs", sa.Column("heartbeat_at", _utc(), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): nothing indexes these columns
    op.drop_column("jobs", "heartbeat_at")
    op.drop_column("jobs", "sent_at")
