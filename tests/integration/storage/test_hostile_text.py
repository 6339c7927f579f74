"""Remote text of any content and length is stored, and stored alike, on SQLite and PostgreSQL
(issue 10, item 5).

PostgreSQL refuses what SQLite takes: NUL in text and in JSON, values past a VARCHAR length,
index entries past ~2.7 KB; lone surrogates (from a ``surrogateescape`` decoding) neither
driver can encode. Every message below must be handled, not quarantined, on both engines,
with NUL and lone surrogates stored as U+FFFD and everything else as the mail says it.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Connection, insert, select, update

from postroom.bootstrap import App
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State
from postroom.records.items import Cause
from postroom.records.statuses import CommunicationStatus
from postroom.render.mail import decision_json
from postroom.services.ingest import Arrival
from postroom.settings import Settings
from postroom.storage.channels import ChannelRepository
from postroom.storage.communications import CommunicationRepository
from postroom.storage.config import ConfigRepository
from postroom.storage.messages import MessageRepository
from postroom.storage.outbox import OutboxRepository
from postroom.storage.polls import PollRepository
from postroom.storage.tables import communications, item_events, pop3_oversize, work_items
from postroom.storage.tables import messages as messages_table
from postroom.storage.tables import outbox as outbox_table
from postroom.storage.workitems import ItemRepository
from support.database import postgres_schema

NOW = datetime(2026, 11, 3, 10, 0)


@pytest.fixture
def rnd() -> random.Random:
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"random seed {seed}")  # shown with a failure, to replay it
    return random.Random(seed)


def _cleaned(value: str) -> str:
    """What the database must hold: NUL and lone surrogates replaced, nothing else touched."""
    return "".join("\ufffd" if c == "\0" or 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def _word(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choices(string.ascii_letters + string.digits, k=n))


def _phrase(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choices(string.ascii_letters + string.digits + "  ,.-", k=n)).strip()


def _with_nul(rnd: random.Random, value: str) -> str:
    at = rnd.randrange(1, len(value))
    return value[:at] + "\0" + value[at:]


def _escaped(rnd: random.Random, n: int) -> str:
    """Text as ``os.fsdecode`` or ``bytes.decode(..., "surrogateescape")`` makes of bytes that
    are not UTF-8: lone surrogates U+DC80..U+DCFF among letters."""
    raw = bytes(
        rnd.choice([rnd.randrange(0x80, 0x100), ord(rnd.choice("abcxyz"))]) for _ in range(n)
    )
    return raw.decode("utf-8", "surrogateescape")


@dataclass
class Mail:
    subject: str
    sender: str
    message_id: str
    reply_to: str | None = None
    in_reply_to: str | None = None

    def raw(self) -> bytes:
        lines = [
            f"From: <{self.sender}>",
            "To: support@example.com",
            f"Subject: {self.subject}",
            f"Message-ID: {self.message_id}",
            "Date: Tue, 03 Nov 2026 09:30:00 +0000",
        ]
        if self.reply_to:
            lines.append(f"Reply-To: <{self.reply_to}>")
        if self.in_reply_to:
            lines.append(f"In-Reply-To: {self.in_reply_to}")
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", "Hello", ""]
        return "\r\n".join(lines).encode("utf-8")


def _plain(rnd: random.Random) -> Mail:
    return Mail(
        subject=_phrase(rnd, 30),
        sender=f"{_word(rnd, 8)}@customer.test",
        message_id=f"<{_word(rnd, 16)}@customer.test>",
    )


def _nul_in_subject(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.subject = _with_nul(rnd, mail.subject)
    return mail


def _nul_in_thread_headers(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.message_id = f"<{_with_nul(rnd, _word(rnd, 20))}@customer.test>"
    mail.in_reply_to = f"<{_with_nul(rnd, _word(rnd, 20))}@customer.test>"
    return mail


def _message_id_of_2000(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.message_id = f"<{_word(rnd, 2000)}@customer.test>"
    return mail


def _message_id_of_100k(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.message_id = f"<{_word(rnd, 100_000)}@customer.test>"
    return mail


def _from_and_reply_to_of_1000(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.sender = f"{_word(rnd, 1000)}@customer.test"
    mail.reply_to = f"{_word(rnd, 1000)}@customer.test"
    return mail


def _from_of_100k(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.sender = f"{_word(rnd, 100_000)}@customer.test"
    return mail


def _subject_of_100k(rnd: random.Random) -> Mail:
    mail = _plain(rnd)
    mail.subject = _phrase(rnd, 100_000)
    return mail


HOSTILE: list[Callable[[random.Random], Mail]] = [
    _nul_in_subject,
    _nul_in_thread_headers,
    _message_id_of_2000,
    _message_id_of_100k,
    _from_and_reply_to_of_1000,
    _from_of_100k,
    _subject_of_100k,
]


def _app() -> App:
    app = App()
    app.ingest.clock = lambda: NOW
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), NOW)
    return app


@pytest.mark.usefixtures("postroom_env")
@pytest.mark.parametrize("make", HOSTILE, ids=lambda f: f.__name__.strip("_"))
def test_a_hostile_message_is_stored_and_handled(
    make: Callable[[random.Random], Mail], rnd: random.Random
) -> None:
    app = _app()
    mail = make(rnd)
    result = app.ingest.ingest(mail.raw())
    assert result.outcome == "new_ticket", decision_json(result)["reason"][:300]
    with app.engine.connect() as conn:
        row = MessageRepository(conn).get(result.message_row)
        assert row.status == "handled"
        assert row.subject == _cleaned(mail.subject)
        assert row.message_id == _cleaned(mail.message_id)
        assert row.from_address == _cleaned(mail.sender)
        [item] = conn.execute(select(work_items)).all()
        assert item.subject == _cleaned(mail.subject)
        # the Reply-To address, or the From address when the Reply-To cannot be answered
        assert item.requester in {_cleaned(mail.reply_to or mail.sender), _cleaned(mail.sender)}
        [comm] = conn.execute(select(communications)).all()
        assert comm.message_id == row.message_id
    # Looked up by the same hostile Message-ID: a second copy is a duplicate of the first,
    # and a reply to it is filed on its Ticket.
    again = app.ingest.ingest(mail.raw())
    assert (decision_json(again)["rule"], decision_json(again)["duplicate_of"]) == (
        "D1",
        result.message_row,
    )
    reply = _plain(rnd)
    reply.in_reply_to = mail.message_id
    filed = app.ingest.ingest(reply.raw())
    assert decision_json(filed)["matched_by"] == "thread", decision_json(filed)["reason"][:300]
    assert decision_json(filed)["work_items"][0]["reference"] == item.reference


@pytest.mark.usefixtures("postroom_env")
@pytest.mark.parametrize("length", [500, 100_000])
def test_a_channel_arrival_with_a_long_uidl_is_stored_and_known(
    length: int, rnd: random.Random
) -> None:
    app = _app()
    with app.engine.begin() as conn:
        channel = (
            ChannelRepository(conn)
            .add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True)
            .id
        )
    uid = _word(rnd, length)
    raw = _plain(rnd).raw()
    [result] = app.ingest.ingest_batch([Arrival(raw, channel, uid)])
    assert result.outcome == "new_ticket", decision_json(result)["reason"][:300]
    with app.engine.connect() as conn:
        row = MessageRepository(conn).get(result.message_row)
        assert row.source_uid == uid
        assert MessageRepository(conn).find_arrival(channel, uid, row.raw_sha256) is not None
    [again] = app.ingest.ingest_batch([Arrival(raw, channel, uid)])
    assert again.already_stored
    assert again.message_row == result.message_row


@pytest.mark.usefixtures("postroom_env")
def test_a_uidl_with_nul_and_lone_surrogates_is_stored_and_known(rnd: random.Random) -> None:
    app = _app()
    with app.engine.begin() as conn:
        channel = (
            ChannelRepository(conn)
            .add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True)
            .id
        )
    uid = _with_nul(rnd, _escaped(rnd, 40))
    [result] = app.ingest.ingest_batch([Arrival(_plain(rnd).raw(), channel, uid)])
    assert result.outcome == "new_ticket", decision_json(result)["reason"][:300]
    with app.engine.connect() as conn:
        row = MessageRepository(conn).get(result.message_row)
        assert row.source_uid == _cleaned(uid)
        assert MessageRepository(conn).find_arrival(channel, uid, row.raw_sha256) is not None
    [again] = app.ingest.ingest_batch([Arrival(_plain(rnd).raw(), channel, uid)])
    assert not again.already_stored  # new mail under the same UIDL: a row of its own


def _hostile_text(rnd: random.Random) -> str:
    """NUL, lone surrogates, non-ASCII letters and 100 KB in one value."""
    return _with_nul(rnd, _escaped(rnd, 50) + "é✓😀" + _word(rnd, 100_000))


def _write_everywhere(conn: Connection, value: str, key: str) -> None:
    """Remote text into every column that takes it, through the storage functions."""
    channel = (
        ChannelRepository(conn).add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True).id
    )
    PollRepository(conn).record_failure(channel, "protocol", value, NOW, NOW)
    ChannelRepository(conn).record_check(channel, {"greeting": value, value: [value]}, None, NOW)
    row = MessageRepository(conn).insert_arrival(
        raw_sha256="ab" * 32, size=1, now=NOW, channel_id=channel, source_uid=value
    )
    MessageRepository(conn).set_outcome(
        row,
        status="quarantined",
        message_id=value,
        from_address=value,
        subject=value,
        reason=value,
        error=value,
        dedupe_key=value,
        decision={"reason": value, key: {value: [value, 1, None]}},
    )
    items = ItemRepository(conn)
    ref = Reference(items.next_number(), ItemType.TICKET)
    item = items.create(
        ref=ref,
        state=State.TODO,
        now=NOW,
        cause=Cause("email-handler", note=value),
        requester=value,
        subject=value,
    )
    conn.execute(
        insert(communications).values(
            work_item_id=item.id,
            direction="in",
            message_row_id=row,
            message_id=value,
            from_address=value,
            subject=value,
            status_detail=value,
            created_at=NOW,
        )
    )
    queued = OutboxRepository(conn).enqueue(
        kind="acknowledgement",
        work_item_id=item.id,
        sender="support@example.com",
        recipients=[value],
        subject=value,
        message_id=f"<{key}@postroom.test>",
        raw_sha256="cd" * 32,
        now=NOW,
    )
    CommunicationRepository(conn).set_status_of_outbox(queued, CommunicationStatus.QUEUED, value)
    conn.execute(
        update(outbox_table)
        .where(outbox_table.c.id == queued)
        .values(last_error=value, recipient_results={value: {"status": "failed", "reply": value}})
    )
    numbers = {c.name: 1 for c in pop3_oversize.c if isinstance(c.type, BigInteger)}
    conn.execute(
        insert(pop3_oversize).values(
            channel_id=channel, source_uid=value, reason=value, seen_at=NOW, **numbers
        )
    )


def _read_everywhere(conn: Connection, value: str) -> dict[str, Any]:
    channel = ChannelRepository(conn).get("box")
    msg = MessageRepository(conn).get(1)
    item = conn.execute(select(work_items)).one()
    event = conn.execute(select(item_events)).one()
    comm = conn.execute(select(communications)).one()
    queued = OutboxRepository(conn).get(1)
    oversize = conn.execute(select(pop3_oversize)).one()
    return {
        "channel.last_error": channel.last_error,
        "channel.last_check": channel.last_check,
        "message.message_id": msg.message_id,
        "message.from_address": msg.from_address,
        "message.subject": msg.subject,
        "message.reason": msg.reason,
        "message.error": msg.error,
        "message.decision": msg.decision,
        "item.requester": item.requester,
        "item.subject": item.subject,
        "event.note": event.note,
        "communication.message_id": comm.message_id,
        "communication.from_address": comm.from_address,
        "communication.subject": comm.subject,
        "communication.status_detail": comm.status_detail,
        "outbox.recipients": queued.recipients,
        "outbox.first_recipient": queued.first_recipient,
        "outbox.subject": queued.subject,
        "outbox.last_error": queued.last_error,
        "outbox.recipient_results": queued.recipient_results,
        "oversize.reason": oversize.reason,
        # keys: stored so that the original value finds them (a long one by its digest)
        "message.source_uid found": MessageRepository(conn).find_arrival(
            channel.id, value, "ab" * 32
        )
        is not None,
        "oversize.source_uid": oversize.source_uid == msg.source_uid,
    }


def _expected(value: str, key: str) -> dict[str, Any]:
    v = _cleaned(value)
    return {
        "channel.last_error": v,
        "channel.last_check": {"greeting": v, v: [v]},
        "message.message_id": v,
        "message.from_address": v,
        "message.subject": v,
        "message.reason": v,
        "message.error": v,
        "message.decision": {"reason": v, key: {v: [v, 1, None]}},
        "item.requester": v,
        "item.subject": v,
        "event.note": v,
        "communication.message_id": v,
        "communication.from_address": v,
        "communication.subject": v,
        "communication.status_detail": v,
        "outbox.recipients": [v],
        "outbox.first_recipient": v.lower(),
        "outbox.subject": v,
        "outbox.last_error": v,
        "outbox.recipient_results": {v: {"status": "failed", "reply": v}},
        "oversize.reason": v,
        "message.source_uid found": True,
        "oversize.source_uid": True,
    }


@pytest.mark.usefixtures("postroom_env")
def test_every_column_of_remote_text_takes_any_text(rnd: random.Random) -> None:
    value, key = _hostile_text(rnd), _word(rnd, 8)
    engine = App().engine
    with engine.begin() as conn:
        _write_everywhere(conn, value, key)
    with engine.connect() as conn:
        assert _read_everywhere(conn, value) == _expected(value, key)
    engine.dispose()


# ---------------------------------------------------------------- both engines at once


@pytest.fixture
def both_engines(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh SQLite file and a fresh PostgreSQL schema, in one test."""
    with postgres_schema() as url:
        yield {"sqlite": f"sqlite:///{tmp_path / 'postroom.db'}", "postgres": url}


def _stored(app: App) -> dict[str, list[dict[str, Any]]]:
    with app.engine.connect() as conn:
        return {
            table.name: [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
            for table in (messages_table, work_items, communications, item_events)
        }


def test_postgresql_stores_what_sqlite_stores(
    both_engines: dict[str, str], tmp_path: Path, rnd: random.Random
) -> None:
    mails = [make(rnd).raw() for make in HOSTILE]
    uid = _word(rnd, 500)
    stored = {}
    for engine, url in both_engines.items():
        app = App(Settings(home=tmp_path / engine, database_url=url))
        app.ingest.clock = lambda: NOW
        with app.engine.begin() as conn:
            ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), NOW)
            channel = (
                ChannelRepository(conn)
                .add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True)
                .id
            )
        results = [app.ingest.ingest(raw) for raw in mails]
        results += app.ingest.ingest_batch([Arrival(mails[0], channel, uid)])
        assert [r.outcome for r in results] == ["new_ticket"] * len(mails) + ["ignored"]
        stored[engine] = _stored(app)
        app.engine.dispose()
    assert stored["postgres"] == stored["sqlite"]
