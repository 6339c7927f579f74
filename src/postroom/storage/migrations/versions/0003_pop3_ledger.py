"""POP3 ledger: a channel remembers that its server reused a UIDL (RFC 1939 section 7 only
asks that a UIDL is not reused while the message exists), and a (channel, UIDL) too large to
retrieve is remembered so later polls leave it on the server without another RETR.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN with a constant default works in place on both engines (no table rebuild).
    op.add_column(
        "channels",
        sa.Column("uidl_reuse_seen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "pop3_oversize",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("source_uid", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("limit_bytes", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_pop3_oversize_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "source_uid", name=op.f("pk_pop3_oversize")),
    )


def downgrade() -> None:
    op.drop_table("pop3_oversize")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("uidl_reuse_seen")
