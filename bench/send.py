"""Messages per second through one reused SMTP connection to the local Postfix.

Three figures from the same run, same messages, same server (submission,
STARTTLS, AUTH PLAIN): raw ``smtplib`` (sendmail on one connection), the
Postroom adapter (`SmtpConnection.send`, with RSET between messages), and the
whole outbox (`OutboxSender.send_due` on SQLite: leases, blobs, two commits
per message).  Needs the test mail stack (tests/servers/mailstack/start).

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


def whole_outbox(ms: Mailstack, n: int) -> float:
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
        sender = OutboxSender(storage, box, SmtplibConnector(), batch=n)
        start = time.perf_counter()
        report = sender.send_due(utcnow())
        elapsed = time.perf_counter() - start
        assert (report.sent, report.connections) == (n, 1), report
        return n / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    ms = Mailstack.from_env_file(DEFAULT_DIR / "mailstack.env")
    adapter(ms, 10)  # warm up Postfix's smtpd processes and TLS session cache
    figures = {
        "raw smtplib, one connection": raw_smtplib(ms, n),
        "postroom adapter, one connection": adapter(ms, n),
        "postroom outbox (SQLite, 2 commits/msg)": whole_outbox(ms, n),
    }
    for name, rate in figures.items():
        print(f"{name:42} {rate:8.1f} messages/s  ({n} messages)")


if __name__ == "__main__":
    main()
