"""Why an SMTP server is off: ``disabled by a user`` when a person switched it off, so a
changed setting or a new sign-in checks it and leaves it off (as channels keep theirs).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("smtp_servers", sa.Column("disabled_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("smtp_servers") as batch:
        batch.drop_column("disabled_reason")
