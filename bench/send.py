"""Messages per second through reused SMTP connections to the local Postfix.

Figures from the same run, same messages, same server (submission, STARTTLS,
AUTH PLAIN): raw ``smtplib`` (sendmail on one connection), the Postroom adapter
(`SmtpConnection.send`, with RSET between messages, PIPELINING where offered),
and the whole outbox (`OutboxSender.send_due` on SQLite: claims, leases, blobs,
the ``delivering`` mark and the outcome of every message) over one connection
and over four.  Targets (issue 12): the outbox ≥ 0.9× raw smtplib over one
connection, and ≥ 2.5× its one-connection figure over four.  Needs the test
mail stack (tests/servers/mailstack/start).

    .venv/bin/python bench/send.py [N]
"""

from __future__ import annotations

import smtplib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from postroom.clock import utcnow
from postroom.credentials import Secret, SecretBox
from postroom.net.connection import MailUrl, tls_context
from postroom.net.sasl import Credentials
from postroom.outbound import SmtpConnection, SmtplibConnector
from postroom.ports.sending import SmtpServer
from postroom.services.send import OutboxSender
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from support.mailstack import DEFAULT_DIR, Mailstack

USER = "alice@example.test"


def message(i: int) -> bytes:
    return (
        f"From: {USER}\r\nTo: bench{i}@customer.test\r\nSubject: bench {i}\r\n"
        f"Message-ID: <bench.{i}.{time.time_ns()}@example.test>\r\n\r\n" + "line of text\r\n" * 60
    ).encode()


def raw_smtplib(ms: Mailstack, n: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP(ms.host, ms.submission_port, timeout=30) as client:
        client.starttls(context=tls_context(ms.ca_file))
        client.login(USER, ms.password(USER))
        for i in range(n):
            client.sendmail(USER, [f"bench{i}@customer.test"], message(i))
    return n / (time.perf_counter() - start)


def adapter(ms: Mailstack, n: int) -> float:
    url = MailUrl.parse(f"submission://{USER}@{ms.host}:{ms.submission_port}")
    server = SmtpServer(url, Credentials(USER, Secret(ms.password(USER))), ms.ca_file)
    start = time.perf_counter()
    with SmtpConnection.open(server) as conn:
        for i in range(n):
            assert conn.send(USER, [f"bench{i}@customer.test"], message(i)).accepted
    return n / (time.perf_counter() - start)


def whole_outbox(ms: Mailstack, n: int, connections: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        ensure_schema(engine)
        blobs, box = FileBlobStore(Path(tmp) / "blobs"), SecretBox.for_home(Path(tmp))
        now = utcnow()
        storage = Storage(engine, blobs)
        with storage.writing() as uow:
            uow.servers.add(
                name="bench",
                url=f"submission://{USER}@{ms.host}:{ms.submission_port}",
                password_enc=box.seal(Secret(ms.password(USER))),
                authzid=None,
                ca_file=str(ms.ca_file),
                send_as=False,
                is_default=True,
                now=now,
                enabled=True,
            )
            for i in range(n):
                raw = message(i)
                uow.outbox.enqueue(
                    kind="reply",
                    work_item_id=None,
                    sender=USER,
                    recipients=[f"bench{i}@customer.test"],
                    subject=f"bench {i}",
                    message_id=f"<bench.{i}.{time.time_ns()}@example.test>",
                    raw_sha256=blobs.put(raw),
                    now=now,
                )
        sender = OutboxSender(storage, box, SmtplibConnector(), batch=n, connections=connections)
        start = time.perf_counter()
        report = sender.send_due(utcnow())
        elapsed = time.perf_counter() - start
        assert (report.sent, report.connections) == (n, connections), report
        return n / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    ms = Mailstack.from_env_file(DEFAULT_DIR / "mailstack.env")
    adapter(ms, 10)  # warm up Postfix's smtpd processes and TLS session cache
    raw = raw_smtplib(ms, n)
    figures = {
        "raw smtplib, one connection": raw,
        "postroom adapter, one connection": adapter(ms, n),
        "postroom outbox (SQLite), one connection": whole_outbox(ms, n, 1),
        "postroom outbox (SQLite), four connections": whole_outbox(ms, n, 4),
    }
    for name, rate in figures.items():
        print(f"{name:44} {rate:8.1f} messages/s  ({n} messages, {rate / raw:.2f}x raw)")
    one = figures["postroom outbox (SQLite), one connection"]
    four = figures["postroom outbox (SQLite), four connections"]
    print(f"{'four connections / one':44} {four / one:8.2f}x")


if __name__ == "__main__":
    main()
