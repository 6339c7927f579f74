"""Metrics: cumulative tallies of poll and handling durations (counts, sums and fixed
histogram buckets, storage/metrics.py), and an index on messages' arrival time so that
"messages today" reads an index range, not the whole table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BUCKETS = 12


def _tallies() -> list[sa.Column[Any]]:
    return [
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        *(sa.Column(f"b{i}", sa.BigInteger(), nullable=False) for i in range(BUCKETS)),
    ]


def upgrade() -> None:
    op.create_table(
        "poll_tallies",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        *_tallies(),
        sa.PrimaryKeyConstraint("channel", "outcome", name=op.f("pk_poll_tallies")),
    )
    op.create_table(
        "handling_tallies",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        *_tallies(),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_handling_tallies")),
    )
    op.create_index("ix_messages_received_at", "messages", ["received_at", "channel_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_received_at", table_name="messages")
    op.drop_table("handling_tallies")
    op.drop_table("poll_tallies")
