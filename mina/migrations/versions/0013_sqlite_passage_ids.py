"""passage ids are never given out twice on SQLite

SQLite gives a new row the largest id plus one, so the ids of the passages deleted last (an
edited meeting's, re-embedded, or a deleted meeting's) came back for the next ones. The
in-memory vector index catches up on ids past the newest it holds: it missed such rows and kept
the old vectors under ids that now named other text. AUTOINCREMENT makes SQLite's ids only
grow, as PostgreSQL's sequences do (nothing changes there).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""

import warnings
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import SAWarning

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # nothing refers to passages, so the copy-and-rename of batch mode cascades nowhere; the
    # tables it refers to are reflected too, and the expression indexes of meetings (which
    # reflection skips, with a warning) are theirs, untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with op.batch_alter_table(
            "passages", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
