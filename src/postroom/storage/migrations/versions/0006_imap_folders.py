"""IMAP channels: the folder a channel polls and what a poll does with stored mail (delete,
keep, move:FOLDER), and how far a channel that keeps its mail has read each folder
(UIDVALIDITY and the last settled UID), so a poll asks only for newer UIDs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channels", sa.Column("folder", sa.String(length=300), nullable=True))
    op.add_column("channels", sa.Column("after", sa.String(length=1000), nullable=True))
    op.create_table(
        "imap_folders",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_imap_folders_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "folder", name=op.f("pk_imap_folders")),
    )


def downgrade() -> None:
    op.drop_table("imap_folders")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("after")
        batch.drop_column("folder")
