"""The poll's and the sender's repositories on SQLite in memory: a lease has one holder,
a dead holder of this host is taken over at once, failures switch a channel off at its
limit, and an outbox row is claimed by one sender and delivered only under its token."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from postroom.records.statuses import OutboxStatus
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.sending import SendingRepository
from postroom.storage.unit import Storage
from support.database import postgres_schema

NOW = datetime(2026, 12, 1, 9, 0)
TTL = timedelta(minutes=5)


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(tmp_path / "blobs"))


def _channel(storage: Storage, name: str = "box", max_failures: int = 10) -> int:
    with storage.writing() as uow:
        return uow.channels.add(
            now=NOW, name=name, url="pop3://127.0.0.1", max_failures=max_failures, enabled=True
        ).id


def _gone_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_a_new_channel_is_disabled_unless_asked(storage: Storage) -> None:
    with storage.writing() as uow:
        plain = uow.channels.add(now=NOW, name="plain", url="pop3://127.0.0.1")
    assert not plain.enabled
    _channel(storage, "on")
    with storage.reading() as uow:
        assert [c.name for c in uow.polls.due(NOW)] == ["on"]
        assert uow.polls.count_enabled() == 1


def test_a_lease_has_one_holder_until_released(storage: Storage) -> None:
    cid = _channel(storage)
    with storage.writing() as uow:
        assert uow.polls.take_lease(cid, "host:1", NOW, TTL)
        assert uow.polls.take_lease(cid, "host:1", NOW, TTL)  # renewed by its holder
        assert not uow.polls.take_lease(cid, "host:2", NOW, TTL)
        assert not uow.polls.steal_lease(cid, "host:3", "host:2", NOW, TTL)  # not the holder
        uow.polls.release_lease(cid, "host:2")  # only the holder releases
        assert not uow.polls.take_lease(cid, "host:2", NOW, TTL)
        assert uow.polls.take_lease(cid, "host:2", NOW + TTL + TTL, TTL)  # ran out
        uow.polls.release_lease(cid, "host:2")
        assert uow.polls.take_lease(cid, "host:1", NOW, TTL)


def test_a_lease_of_a_gone_process_here_is_due_and_taken_over(storage: Storage) -> None:
    dead = f"{socket.gethostname()}:{_gone_pid()}"
    cid, other = _channel(storage, "dead"), _channel(storage, "remote")
    with storage.writing() as uow:
        assert uow.polls.take_lease(cid, dead, NOW, TTL)
        assert uow.polls.take_lease(other, "elsewhere:1", NOW, TTL)
    with storage.writing() as uow:
        assert [c.name for c in uow.polls.due(NOW)] == ["dead"]
        assert uow.polls.dead_holder(cid) == dead
        assert uow.polls.dead_holder(other) is None  # another host's: waited for
        assert uow.polls.steal_lease(cid, dead, "here:1", NOW, TTL)
        assert uow.polls.dead_holder(cid) is None


def test_failures_switch_a_channel_off_at_its_limit_and_storage_failures_do_not(
    storage: Storage,
) -> None:
    cid = _channel(storage, max_failures=2)
    with storage.writing() as uow:
        uow.polls.record_storage_failure(cid, "database gone", NOW, NOW)
        assert not uow.polls.record_failure(cid, "auth", "no", NOW, NOW)
        assert uow.polls.record_failure(cid, "auth", "no", NOW, NOW)
        channel = uow.channels.by_id(cid)
    assert (channel.enabled, channel.failure_count) == (False, 2)
    assert channel.disabled_reason == "switched off after 2 consecutive failures (auth)"


def _queue(storage: Storage, n: int) -> list[int]:
    with storage.writing() as uow:
        return [
            uow.outbox.enqueue(
                kind="reply",
                work_item_id=None,
                sender="support@example.com",
                recipients=[f"r{i}@customer.test"],
                subject=f"s{i}",
                message_id=f"<{i}@postroom.test>",
                raw_sha256="ab" * 32,
                now=NOW,
            )
            for i in range(n)
        ]


def test_a_due_row_is_claimed_once_and_delivered_only_under_its_token(storage: Storage) -> None:
    [row_id] = _queue(storage, 1)
    with storage.writing() as uow:
        token = uow.sending.lease_token(NOW, TTL)
        assert uow.sending.anything_to_do(NOW)
        assert [r.id for r in uow.sending.claim_due(NOW, token)] == [row_id]
        assert uow.sending.claim_due(NOW, uow.sending.lease_token(NOW, TTL)) == []
        assert not uow.sending.start_delivery(row_id, token + timedelta(seconds=1), token, {})
        assert uow.sending.start_delivery(row_id, token, token, {})
    later = NOW + timedelta(hours=1)
    with storage.writing() as uow:
        assert uow.sending.abandon_stale_deliveries(later) == [row_id]
        row = uow.outbox.get(row_id)
    assert row.status == OutboxStatus.UNKNOWN.value
    assert row.last_error == uow.sending.UNKNOWN_OUTCOME


def test_a_claim_takes_a_batch_in_order_and_leaves_the_rest_due(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(Path("/nonexistent")))
    rows = _queue(storage, 5)
    with storage.writing() as uow:
        first = uow.sending.claim_due(NOW, uow.sending.lease_token(NOW, TTL), limit=3)
    with storage.writing() as uow:
        rest = uow.sending.claim_due(NOW, uow.sending.lease_token(NOW, TTL), limit=3)
    assert [r.id for r in first] == rows[:3]
    assert [r.id for r in rest] == rows[3:]
    assert {r.status for r in first + rest} == {OutboxStatus.SENDING.value}
    engine.dispose()


def test_two_claims_at_once_on_postgresql_skip_each_others_rows() -> None:
    """The first claim's transaction is still open: the second takes other rows at once
    instead of waiting for its locks (FOR UPDATE SKIP LOCKED)."""
    with postgres_schema() as url:
        engine = make_engine(url)
        ensure_schema(engine)
        storage = Storage(engine, FileBlobStore(Path("/nonexistent")))
        rows = _queue(storage, 4)
        with storage.writing() as first_uow:
            first = first_uow.sending.claim_due(NOW, first_uow.sending.lease_token(NOW, TTL), 2)
            with engine.connect() as other:
                other.execute(text("SET lock_timeout = '2s'"))
                second = SendingRepository(other).claim_due(NOW, NOW + TTL, 4)
                other.commit()
        assert [r.id for r in first] == rows[:2]
        assert [r.id for r in second] == rows[2:]
        engine.dispose()


def test_a_message_a_sender_took_is_neither_requeued_nor_cancelled(storage: Storage) -> None:
    """`outbox retry`/`cancel` read the status before they write: a sender claiming the row
    in between must not have it put back in the queue (sent twice) or marked cancelled."""
    [row_id] = _queue(storage, 1)
    retryable = (OutboxStatus.QUEUED, OutboxStatus.FAILED, OutboxStatus.UNKNOWN)
    with storage.writing() as uow:
        assert uow.sending.claim_due(NOW, uow.sending.lease_token(NOW, TTL))
    with storage.writing() as uow:
        assert not uow.outbox.requeue(row_id, NOW, None, retryable)
        assert not uow.outbox.cancel(row_id, retryable)
        assert uow.outbox.get(row_id).status == OutboxStatus.SENDING.value
