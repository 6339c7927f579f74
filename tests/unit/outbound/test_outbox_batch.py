"""The outbox over the real adapter and a scripted server: one round, one connection.

Acknowledgements to senders such as ``chloé.garcia@…`` used to break the connection (the
encoding error was taken for a lost link): the rest of the batch was set aside and retried.
Here every message of the round is settled over the one connection, and a recipient the
server cannot take is refused for good, not retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from postroom.credentials import SecretBox
from postroom.outbound import SmtplibConnector
from postroom.records.statuses import OutboxStatus
from postroom.services.send import OutboxSender
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from unit.outbound.fake_smtp import Script, fake_smtp

NOW = datetime(2026, 11, 2, 9, 0)
DESK = "desk@example.test"
CHLOE = "chlo\u00e9.garcia@customer.test"


def storage_for(port: int, blobs: Path) -> Storage:
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(blobs, fsync=False))
    with storage.writing() as uow:
        uow.servers.add(
            name="relay",
            url=f"smtp://127.0.0.1:{port}?tls=none",
            password_enc=None,
            authzid=None,
            ca_file=None,
            send_as=False,
            is_default=True,
            now=NOW,
        )
        uow.servers.set_enabled("relay", True)
    return storage


def queue(storage: Storage, n: int, recipient: str) -> int:
    raw = f"From: {DESK}\r\nTo: ack{n}@customer.test\r\nSubject: ack {n}\r\n\r\nthanks\r\n"
    with storage.writing() as uow:
        assert uow.staged is not None
        return uow.outbox.enqueue(
            kind="ack",
            work_item_id=None,
            sender=DESK,
            recipients=[recipient],
            subject=f"ack {n}",
            message_id=f"<ack{n}@example.test>",
            raw_sha256=uow.staged.put(raw.encode()),
            now=NOW,
        )


def test_a_round_settles_every_message_over_one_connection(tmp_path: Path) -> None:
    recipients = [f"r{n}@customer.test" for n in range(6)]
    recipients[2] = CHLOE
    recipients[4] = "gone@customer.test"
    script = Script(rcpt={"gone@customer.test": "550 5.1.1 no such user"})
    with fake_smtp(script) as (_, port):
        storage = storage_for(port, tmp_path / "blobs")
        rows = [queue(storage, n, r) for n, r in enumerate(recipients)]
        sender = OutboxSender(
            storage, SecretBox.for_home(tmp_path), SmtplibConnector(), connections=1
        )
        report = sender.send_due(NOW)
    assert (report.claimed, report.connections, script.connections) == (6, 1, 1)
    assert (report.sent, report.failed, report.retrying, report.skipped) == (4, 2, 0, 0)
    assert [d.recipients[0] for d in script.delivered] == [
        r for r in recipients if r not in (CHLOE, "gone@customer.test")
    ]
    with storage.reading() as uow:
        statuses = [uow.outbox.get(row).status for row in rows]
        chloe = uow.outbox.get(rows[2])
    assert statuses == [OutboxStatus.SENT] * 2 + [OutboxStatus.FAILED] + [
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.SENT,
    ]
    assert chloe.last_error is not None and "SMTPUTF8" in chloe.last_error
    assert chloe.next_attempt is None  # refused for good, not tried again
    assert sender.send_due(NOW + timedelta(hours=3)).claimed == 0


def test_stop_ends_the_round_after_the_message_being_sent(tmp_path: Path) -> None:
    """SIGTERM during a round of 100 must not wait for the 100: the rows not tried are put
    back at once (queued, no lease), the one being sent is settled."""
    with fake_smtp() as (script, port):
        storage = storage_for(port, tmp_path / "blobs")
        rows = [queue(storage, n, f"r{n}@customer.test") for n in range(20)]
        sender = OutboxSender(
            storage, SecretBox.for_home(tmp_path), SmtplibConnector(), connections=1
        )
        script.on["RCPT"] = sender.stop  # the stop arrives while the first message goes out
        report = sender.send_due(NOW)
        again = sender.send_due(NOW + timedelta(hours=1))
    assert (report.claimed, report.sent, report.skipped) == (20, 1, 19)
    assert again.claimed == 0  # a stopped sender starts no other round
    with storage.reading() as uow:
        statuses = [uow.outbox.get(row).status for row in rows]
    assert statuses == [OutboxStatus.SENT] + [OutboxStatus.QUEUED] * 19
