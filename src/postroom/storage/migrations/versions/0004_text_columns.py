"""Remote text in unbounded text columns; on PostgreSQL, indexes that take any length.

A Message-ID, an address or a UIDL is what the sender or the server says it is, of any
length (storage/columns.py): VARCHAR(n) made PostgreSQL refuse what SQLite took. On
PostgreSQL a btree entry also stops at ~2.7 KB, so the indexes over such text become hash
indexes (equality is all they serve) and the unique keys hold an MD5 of the text. SQLite
enforces no length and no entry size: its tables are rebuilt only to say ``TEXT``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WAS: dict[str, dict[str, int]] = {
    "messages": {"message_id": 1000, "source_uid": 300, "from_address": 320, "dedupe_key": 1100},
    "work_items": {"requester": 320},
    "communications": {"message_id": 1000, "from_address": 320},
    "outbox": {"first_recipient": 320},
    "pop3_oversize": {"source_uid": 300},
}
"""The columns made ``text``, with their length before."""

_HASHED = [
    ("ix_messages_message_id", "messages", "message_id"),
    ("ix_messages_source_uid", "messages", "source_uid"),
    ("ix_communications_message_id", "communications", "message_id"),
    ("ix_outbox_first_recipient", "outbox", "first_recipient"),
]
"""PostgreSQL hash indexes (equality lookups of text of any length)."""


def _retype(to_text: bool) -> None:
    for table, columns in _WAS.items():
        with op.batch_alter_table(table) as batch:
            for column, length in columns.items():
                before, after = sa.String(length=length), sa.Text()
                if not to_text:
                    before, after = after, before
                batch.alter_column(column, existing_type=before, type_=after)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _retype(to_text=True)
        return
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.drop_index("uq_messages_dedupe_key", table_name="messages")
    op.drop_index("ix_communications_message_id", table_name="communications")
    op.drop_index("ix_outbox_first_recipient", table_name="outbox")
    op.drop_constraint("uq_messages_arrival", "messages", type_="unique")
    op.drop_constraint("pk_pop3_oversize", "pop3_oversize", type_="primary")
    _retype(to_text=True)
    for name, table, column in _HASHED:
        op.create_index(name, table, [column], postgresql_using="hash")
    op.create_index(
        "uq_messages_arrival",
        "messages",
        ["channel_id", sa.text("md5(source_uid)"), "raw_sha256"],
        unique=True,
    )
    op.create_index("uq_messages_dedupe_key", "messages", [sa.text("md5(dedupe_key)")], unique=True)
    op.create_index(
        "uq_pop3_oversize_uid",
        "pop3_oversize",
        ["channel_id", sa.text("md5(source_uid)")],
        unique=True,
    )


def downgrade() -> None:
    """Back to VARCHAR(n): fails on PostgreSQL while longer values are stored."""
    if op.get_bind().dialect.name != "postgresql":
        _retype(to_text=False)
        return
    op.drop_index("uq_pop3_oversize_uid", table_name="pop3_oversize")
    op.drop_index("uq_messages_dedupe_key", table_name="messages")
    op.drop_index("uq_messages_arrival", table_name="messages")
    for name, table, _column in _HASHED:
        op.drop_index(name, table_name=table)
    _retype(to_text=False)
    op.create_primary_key("pk_pop3_oversize", "pop3_oversize", ["channel_id", "source_uid"])
    op.create_unique_constraint(
        "uq_messages_arrival", "messages", ["channel_id", "source_uid", "raw_sha256"]
    )
    op.create_index("uq_messages_dedupe_key", "messages", ["dedupe_key"], unique=True)
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.create_index("ix_communications_message_id", "communications", ["message_id"])
    op.create_index("ix_outbox_first_recipient", "outbox", ["first_recipient"])
