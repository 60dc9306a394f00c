"""teams: a token's workspace, and invitations to join a workspace

api_tokens.workspace_id: the workspace a token acts in (existing tokens get their user's first
workspace); removing the user from that workspace revokes the token.
invites: an email, the role it grants, the SHA-256 of its token, who invited, when it expires,
and when it was accepted, revoked or emailed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_api_tokens_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(batch.f("ix_api_tokens_workspace_id"), ["workspace_id"], unique=False)
    op.execute(
        "UPDATE api_tokens SET workspace_id = (SELECT m.workspace_id FROM memberships m "
        "WHERE m.user_id = api_tokens.user_id ORDER BY m.id LIMIT 1)"
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                "admin",
                "member",
                "viewer",
                name="invite_role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("accepted_at", _utc(), nullable=True),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.Column("emailed_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_invites_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_invites_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name=op.f("fk_invites_accepted_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invites_token_hash")),
    )
    op.create_index(op.f("ix_invites_workspace_id"), "invites", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invites_workspace_id"), table_name="invites")
    op.drop_table("invites")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_workspace_id"))
        batch.drop_constraint(batch.f("fk_api_tokens_workspace_id_workspaces"), type_="foreignkey")
        batch.drop_column("workspace_id")
