"""how many people a meeting's organiser says took part, a hint for labelling speakers

meetings.expected_speakers (nullable): set by ``speakers`` on an upload or a stream's ``start``
and by ``PATCH /api/meetings/{id}``; the diarize job clusters into that many speakers when it
is set and counts them itself when it is not.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ALTER TABLE on SQLite too: a batch copy would drop the expression index of 0003
    op.add_column("meetings", sa.Column("expected_speakers", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("meetings", "expected_speakers")
