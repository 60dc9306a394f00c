"""each passage names the embedding model its vector came from

``MINA_EMBEDDING_MODEL`` chooses between models whose vectors cannot be compared (MiniLM's 384
dimensions, MPNet's 768); the index reads only the configured model's passages and
``mina embed --all --missing`` re-embeds the meetings without them. Every passage so far is
MiniLM's.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "passages",
        sa.Column("model", sa.String(40), nullable=False, server_default="minilm"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("passages", "model")
        return
    # SQLite copies the table without the column: keep its ids only growing (0013)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with op.batch_alter_table(
            "passages", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch:
            batch.drop_column("model")
