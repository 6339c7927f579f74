"""Indexes for the overview's counts (the dashboard, `/metrics`, `postroom status`): they
grouped the whole of ``messages`` and ``outbox`` on every request.

- ``ix_messages_status`` (status, rule, channel_id): the ledger by status and rule (and, on
  PostgreSQL, by channel in the same statement) read from the index alone, in its order
  (SQLite: no table scan, no temporary B-tree; PostgreSQL: an index-only scan).
- ``ix_outbox_status`` (status, sent_at, smtp_server, attempts): the outbox by status with
  its attempts, and what each server sent today (status ``sent``, a range of ``sent_at``),
  both from the index alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_status", "messages", ["status", "rule", "channel_id"])
    op.create_index("ix_outbox_status", "outbox", ["status", "sent_at", "smtp_server", "attempts"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_index("ix_messages_status", table_name="messages")
