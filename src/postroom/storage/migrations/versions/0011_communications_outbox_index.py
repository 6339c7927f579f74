"""An index on ``communications.outbox_id``: an outbox row's communication found without a
scan of every communication.

Every change of an outbox row's status is shown on its communication (`storage.
communications`): the sender's outcomes, `outbox cancel` and `outbox retry`, and the
sweep that marks half-delivered rows ``unknown``. Without an index each of them read the
whole table, ~1.1-1.3 ms of CPU a message at 20,000 communications on the development
machine, growing with the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_communications_outbox_id", "communications", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_communications_outbox_id", table_name="communications")
