"""Migration 0004 on SQLite and PostgreSQL: remote text columns become unbounded ``text``,
the rows already there are kept, and the keys over them still hold for values of any length
(a PostgreSQL btree entry stops at ~2.7 KB, hence hash and MD5 indexes there)."""

from __future__ import annotations

import os
import random
import string
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import (
    channels,
    communications,
    messages,
    metadata,
    outbox,
    pop3_oversize,
    work_items,
)

NOW = datetime(2026, 11, 1, 9, 0)
_rnd = random.Random(int.from_bytes(os.urandom(4), "big"))


def _word(n: int) -> str:
    return "".join(_rnd.choices(string.ascii_letters + string.digits, k=n))


def _rows(conn: Connection, n: dict[str, int]) -> dict[str, Any]:
    """One row in each table with the columns 0004 changes, ``n`` characters in each."""
    channel = conn.execute(
        insert(channels)
        .values(
            name=_word(8),
            url="pop3://127.0.0.1",
            interval_s=60,
            max_failures=10,
            timeout_s=30,
            enabled=True,
            failure_count=0,
            created_at=NOW,
        )
        .returning(channels.c.id)
    ).scalar_one()
    values = {
        "message_id": _word(n["message_id"]),
        "source_uid": _word(n["source_uid"]),
        "from_address": _word(n["address"]),
        "dedupe_key": _word(n["dedupe_key"]),
    }
    message = conn.execute(
        insert(messages)
        .values(
            raw_sha256="ab" * 32,
            size=1,
            channel_id=channel,
            received_at=NOW,
            status="handled",
            attempts=1,
            **values,
        )
        .returning(messages.c.id)
    ).scalar_one()
    requester = _word(n["address"])
    item = conn.execute(
        insert(work_items)
        .values(
            reference=f"{100001 + message}-T",
            number=100001 + message,
            type="ticket",
            state="to-do",
            requester=requester,
            new_info=False,
            created_at=NOW,
            updated_at=NOW,
        )
        .returning(work_items.c.id)
    ).scalar_one()
    conn.execute(
        insert(communications).values(
            work_item_id=item,
            direction="in",
            message_row_id=message,
            message_id=values["message_id"],
            from_address=values["from_address"],
            created_at=NOW,
        )
    )
    recipient = _word(n["address"]).lower()
    conn.execute(
        insert(outbox).values(
            kind="acknowledgement",
            sender="support@example.com",
            recipients=[recipient],
            first_recipient=recipient,
            subject="s",
            message_id=f"<{_word(20)}@postroom.test>",
            raw_sha256="cd" * 32,
            status="queued",
            attempts=0,
            created_at=NOW,
        )
    )
    numbers = {c.name: 1 for c in pop3_oversize.c if isinstance(c.type, BigInteger)}
    conn.execute(
        insert(pop3_oversize).values(
            channel_id=channel,
            source_uid=values["source_uid"],
            reason="too large",
            seen_at=NOW,
            **numbers,
        )
    )
    return {"channel": channel, "requester": requester, "recipient": recipient, **values}


def _stored(conn: Connection) -> list[tuple[Any, ...]]:
    return [
        *conn.execute(
            select(
                messages.c.message_id,
                messages.c.source_uid,
                messages.c.from_address,
                messages.c.dedupe_key,
            ).order_by(messages.c.id)
        ),
        *conn.execute(select(work_items.c.requester).order_by(work_items.c.id)),
        *conn.execute(select(communications.c.message_id).order_by(communications.c.id)),
        *conn.execute(select(outbox.c.first_recipient).order_by(outbox.c.id)),
        *conn.execute(select(pop3_oversize.c.source_uid).order_by(pop3_oversize.c.channel_id)),
    ]


AT_THE_OLD_LIMITS = {"message_id": 1000, "source_uid": 300, "address": 320, "dedupe_key": 1100}
HUGE = dict.fromkeys(AT_THE_OLD_LIMITS, 100_000)


def _type_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        found = compare_metadata(context, metadata)
    flat = [d for diff in found for d in (diff if isinstance(diff, list) else [diff])]
    return [d for d in flat if d[0] == "modify_type"]


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_upgrade_keeps_the_rows_and_then_takes_text_of_any_length(database_url: str) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:
        _rows(conn, AT_THE_OLD_LIMITS)
        before = _stored(conn)
    command.upgrade(alembic_config(engine), "0004")
    assert current_revision(engine) == "0004"
    with engine.connect() as conn:
        assert _stored(conn) == before
    assert _type_differences(engine) == []  # the database says what tables.py says
    with engine.begin() as conn:
        huge = _rows(conn, HUGE)
    with engine.connect() as conn:
        assert _stored(conn)[1][0] == huge["message_id"]
    engine.dispose()


def test_the_keys_still_hold_for_long_values(database_url: str) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        first = _rows(conn, HUGE)
    arrival = {
        "raw_sha256": "ab" * 32,
        "size": 1,
        "channel_id": first["channel"],
        "source_uid": first["source_uid"],
        "received_at": NOW,
        "status": "stored",
        "attempts": 0,
    }
    numbers = {c.name: 1 for c in pop3_oversize.c if isinstance(c.type, BigInteger)}
    again: list[Any] = [
        insert(messages).values(arrival),  # the same arrival
        insert(messages).values({**arrival, "source_uid": "x", "dedupe_key": first["dedupe_key"]}),
        insert(pop3_oversize).values(
            channel_id=first["channel"],
            source_uid=first["source_uid"],
            reason="r",
            seen_at=NOW,
            **numbers,
        ),
    ]
    for statement in again:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(statement)
    # ... and differing in the last character only is another key.
    other = first["source_uid"][:-1] + ("a" if first["source_uid"][-1] != "a" else "b")
    with engine.begin() as conn:
        conn.execute(insert(messages).values({**arrival, "source_uid": other}))
        found = conn.execute(
            select(messages.c.id).where(messages.c.source_uid == first["source_uid"])
        ).all()
    assert len(found) == 1
    engine.dispose()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        _rows(conn, dict.fromkeys(AT_THE_OLD_LIMITS, 40))
        before = _stored(conn)
    command.downgrade(alembic_config(engine), "0003")
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        assert _stored(conn) == before
    engine.dispose()
