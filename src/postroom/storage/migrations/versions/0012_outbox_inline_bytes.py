"""``outbox.raw``: a small outbound message kept in its row instead of a blob file.

An automated reply (~2 KB) cost a blob file: created, flushed with the batch, read back
by the sender, 0.3-0.6 ms of CPU a reply on the development machine, most of it the
file's creation. Rows queued before this revision keep NULL here and their blob.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("raw", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Dropping the column would lose the messages it holds (a migration cannot write them
    # as blobs: it knows the database only), so it is refused while any row has some.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM outbox WHERE raw IS NOT NULL"))
    count = held.scalar_one()
    if count:
        raise RuntimeError(
            f"{count} outbox row(s) hold their message in the row (revision 0012); "
            "a downgrade below it would lose them: delete those rows first or stay on 0012"
        )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("raw")
