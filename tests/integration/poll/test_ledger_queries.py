"""The ledger queries of a poll, on SQLite and PostgreSQL: only the listed UIDLs are read
(a channel's history grows without bound), too-large messages are remembered and forgotten,
a UIDL reuse is remembered once."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from postroom.storage.channels import ChannelRepository
from postroom.storage.database import make_engine, reading, upgrade
from postroom.storage.messages import IN_CHUNK, MessageRepository
from postroom.storage.polls import PollRepository

NOW = datetime(2026, 11, 28, 9, 0)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    upgrade(made)
    yield made
    made.dispose()


def _channel(conn, name: str) -> int:  # type: ignore[no-untyped-def]
    return (
        ChannelRepository(conn)
        .add(
            now=NOW,
            name=name,
            url=f"pop3://{name}@127.0.0.1:1?tls=none",
            interval_s=60,
            max_failures=3,
            timeout_s=5,
            enabled=True,
        )
        .id
    )


def test_stored_under_reads_only_the_listed_uidls_in_chunks(engine: Engine) -> None:
    rng = random.Random(7)
    history = 3 * IN_CHUNK + 17
    with engine.begin() as conn:
        mine, other = _channel(conn, "mine"), _channel(conn, "other")
        rows: list[tuple[str, int, int | None, str | None]] = []
        for n in range(history):
            raw = rng.randbytes(rng.randint(10, 40))
            rows.append((hashlib.sha256(raw).hexdigest(), len(raw), mine, f"u{n}"))
        reused = rng.randbytes(12)
        rows.append((hashlib.sha256(reused).hexdigest(), 12, mine, "u5"))  # a second row
        rows.append(("f" * 64, 99, other, "u5"))  # another channel's UIDL
        MessageRepository(conn).insert_arrivals(rows, NOW)
    listed = [f"u{n}" for n in rng.sample(range(history), IN_CHUNK + 40)]
    listed += ["u5", "not-stored"]
    with reading(engine) as conn:
        found = MessageRepository(conn).stored_under(mine, listed)
    expected: dict[str, list[tuple[int, str]]] = {}
    for sha, size, channel_id, uid in rows:
        if channel_id == mine and uid in listed:
            expected.setdefault(uid, []).append((size, sha))
    assert {u: sorted(v) for u, v in found.items()} == {u: sorted(v) for u, v in expected.items()}
    assert len(found["u5"]) == 2 and "not-stored" not in found


def test_too_large_is_remembered_updated_and_forgotten(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = _channel(conn, "big")
        for n in range(IN_CHUNK + 3):
            MessageRepository(conn).remember_too_large(
                cid, f"u{n}", size=2000 + n, limit=1000, reason=f"r{n}", now=NOW
            )
        MessageRepository(conn).remember_too_large(
            cid, "u1", size=5, limit=4, reason="again", now=NOW
        )
    with reading(engine) as conn:
        remembered = MessageRepository(conn).too_large(cid)
    assert len(remembered) == IN_CHUNK + 3
    assert remembered["u1"] == (5, 4, "again") and remembered["u0"] == (2000, 1000, "r0")
    with engine.begin() as conn:
        MessageRepository(conn).forget_too_large(cid, [f"u{n}" for n in range(IN_CHUNK + 1)])
    with reading(engine) as conn:
        assert set(MessageRepository(conn).too_large(cid)) == {
            f"u{IN_CHUNK + 1}",
            f"u{IN_CHUNK + 2}",
        }


def test_uidl_reuse_is_remembered_once_and_a_notice_is_not_a_failure(engine: Engine) -> None:
    with engine.begin() as conn:
        cid = _channel(conn, "reuse")
        polls = PollRepository(conn)
        assert polls.mark_uidl_reuse(cid) is True
        assert polls.mark_uidl_reuse(cid) is False
        notice = ("message-too-large", "message 1 (UIDL a): left on the server")
        polls.record_success(cid, NOW, NOW, notice)
        polls.record_success(cid, NOW + timedelta(minutes=1), NOW, notice)
        row = ChannelRepository(conn).by_id(cid)
        assert row.uidl_reuse_seen is True
        assert (row.last_error_class, row.last_error) == notice
        assert (row.failure_count, row.last_error_at) == (0, NOW)  # since when it is so
        polls.record_success(cid, NOW, NOW)
        row = ChannelRepository(conn).by_id(cid)
        assert (row.last_error_class, row.last_error) == (None, None)
