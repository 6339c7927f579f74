"""Concurrent handling: a unique key per handled message; Ticket numbers from a sequence
on PostgreSQL (a counter row would serialise every transaction that opens a Ticket).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN and CREATE INDEX work in place on both engines: no table rebuild, so the
    # rows that refer to messages are never touched.
    op.add_column("messages", sa.Column("dedupe_key", sa.String(length=1100), nullable=True))
    op.create_index("uq_messages_dedupe_key", "messages", ["dedupe_key"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE work_item_number START WITH 100001")
        op.execute(
            "SELECT setval('work_item_number', value) FROM counters WHERE name = 'work_item'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE work_item_number")
    op.drop_index("uq_messages_dedupe_key", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("dedupe_key")
