"""Messages per second through reused SMTP connections to the local Postfix.

Figures from the same run, same messages, same server (submission, STARTTLS,
AUTH PLAIN): raw ``smtplib`` (sendmail on one connection, and ``raw4`` on four at once,
a thread each: what Postfix on this machine can take over four), the Postroom adapter
(`SmtpConnection.send`, with RSET between messages, PIPELINING where offered),
and the whole outbox (`OutboxSender.send_due` on SQLite: claims, leases, the bytes in the row,
the ``delivering`` mark and the outcome of every message, each an acknowledgement filed
on a Ticket of its own) over one connection and over four.  Targets (issue 12): the outbox ≥ 0.9× raw smtplib over one
connection, and ≥ 2.5× its one-connection figure over four.  Needs the test
mail stack (tests/servers/mailstack/start).

    .venv/bin/python bench/send.py [N] [--only raw,raw4,adapter,one,four] [--rounds R]

Beside each rate: this process's CPU per message (user + system of all its threads, from
``getrusage``) and the machine's (every core's busy time from /proc/stat, over N), which
move less with the load of other work than the rate does. ``--rounds`` repeats the lines
in turn and prints each one's median rate last.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import smtplib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from postroom.clock import utcnow
from postroom.credentials import Secret, SecretBox
from postroom.domain.workitems import ItemType, Reference, State
from postroom.net.connection import MailUrl, tls_context
from postroom.net.sasl import Credentials
from postroom.outbound import SmtpConnection, SmtplibConnector
from postroom.ports.sending import SmtpServer
from postroom.records.items import Cause
from postroom.services.send import OutboxSender
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from support.mailstack import DEFAULT_DIR, Mailstack

USER = "alice@example.test"
CAUSE = Cause("email-handler")
_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """Seconds every core of the machine spent not idle (nor waiting for the disk)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Figure:
    n: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    machine: float = 0.0

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    def per_message(self) -> str:
        return f"CPU {1000 * self.cpu / self.n:5.2f} ms/msg, machine {1000 * self.machine / self.n:5.2f}"


@contextmanager
def measured(n: int) -> Iterator[Figure]:
    figure = Figure(n)
    start, cpu, busy = time.perf_counter(), _own_cpu(), _machine_busy()
    yield figure
    figure.seconds = time.perf_counter() - start
    figure.cpu, figure.machine = _own_cpu() - cpu, _machine_busy() - busy


def message(i: int) -> bytes:
    return (
        f"From: {USER}\r\nTo: bench{i}@customer.test\r\nSubject: bench {i}\r\n"
        f"Message-ID: <bench.{i}.{time.time_ns()}@example.test>\r\n\r\n" + "line of text\r\n" * 60
    ).encode()


def raw_smtplib(ms: Mailstack, n: int) -> Figure:
    with (
        measured(n) as figure,
        smtplib.SMTP(ms.host, ms.submission_port, timeout=30) as client,
    ):
        client.starttls(context=tls_context(ms.ca_file))
        client.login(USER, ms.password(USER))
        for i in range(n):
            client.sendmail(USER, [f"bench{i}@customer.test"], message(i))
    return figure


def raw_smtplib_many(ms: Mailstack, n: int, connections: int) -> Figure:
    """Raw smtplib over several connections at once, a thread each, each opened inside the
    measure as raw's one is: what Postfix on this machine takes over that many."""

    def lane(k: int) -> None:
        with smtplib.SMTP(ms.host, ms.submission_port, timeout=30) as client:
            client.starttls(context=tls_context(ms.ca_file))
            client.login(USER, ms.password(USER))
            for i in range(k, n, connections):
                client.sendmail(USER, [f"bench{i}@customer.test"], message(i))

    with measured(n) as figure, ThreadPoolExecutor(connections) as pool:
        for done in [pool.submit(lane, k) for k in range(connections)]:
            done.result()
    return figure


def adapter(ms: Mailstack, n: int) -> Figure:
    url = MailUrl.parse(f"submission://{USER}@{ms.host}:{ms.submission_port}")
    server = SmtpServer(url, Credentials(USER, Secret(ms.password(USER))), ms.ca_file)
    with measured(n) as figure, SmtpConnection.open(server) as conn:
        for i in range(n):
            assert conn.send(USER, [f"bench{i}@customer.test"], message(i)).accepted
    return figure


def whole_outbox(ms: Mailstack, n: int, connections: int) -> Figure:
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
                # Each an acknowledgement of a Ticket of its own, filed on its timeline as
                # Postroom's replies are: the outcome changes the communication too.
                ref = Reference(uow.items.next_number(), ItemType.TICKET)
                item = uow.items.create(ref=ref, state=State.TODO, now=now, cause=CAUSE)
                sha, inline = uow.keep_outbound(message(i))  # in the row, as a reply's are
                uow.outbox.queue_for_item(
                    kind="acknowledgement",
                    work_item_id=item.id,
                    sender=USER,
                    recipients=[f"bench{i}@customer.test"],
                    subject=f"bench {i}",
                    message_id=f"<bench.{i}.{time.time_ns()}@example.test>",
                    raw_sha256=sha,
                    raw=inline,
                    rule="N1",
                    now=now,
                )
        sender = OutboxSender(storage, box, SmtplibConnector(), batch=n, connections=connections)
        with measured(n) as figure:
            report = sender.send_due(utcnow())
        assert (report.sent, report.connections) == (n, connections), report
        return figure


LINES = {
    "raw": "raw smtplib, one connection",
    "raw4": "raw smtplib, four connections (threads)",
    "adapter": "postroom adapter, one connection",
    "one": "postroom outbox (SQLite), one connection",
    "four": "postroom outbox (SQLite), four connections",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=300)
    parser.add_argument("--only", default=",".join(LINES), help="raw,raw4,adapter,one,four")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    n, only = args.n, args.only.split(",")
    ms = Mailstack.from_env_file(DEFAULT_DIR / "mailstack.env")
    started = time.time()
    try:
        measure(ms, n, only, args.rounds)
    finally:
        print(f"removed {forget_captured(ms, started)} captured messages of this run")


def forget_captured(ms: Mailstack, since: float, settle: float = 1.0, wait: float = 15.0) -> int:
    """Remove the run's mail from the stack's capture Maildir (tests read it, and tens of
    thousands of files slow them), once Postfix has delivered the last of it: no new file
    for ``settle`` seconds, or ``wait`` at most. How many were removed."""
    new = ms.state_dir / "mail" / "capture" / "Maildir" / "new"
    deadline, last, count = time.monotonic() + wait, -1, 0
    while time.monotonic() < deadline:
        count = sum(1 for _ in new.iterdir())
        if count == last:
            break
        last = count
        time.sleep(settle)
    removed = 0
    for path in new.iterdir():
        try:
            if path.stat().st_mtime < since:
                continue
            with path.open("rb") as file:
                head = file.read(512)
        except FileNotFoundError:
            continue
        if re.search(rb"^X-Mailstack-Envelope-To: <bench\d+@customer\.test>", head, re.M):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def measure(ms: Mailstack, n: int, only: list[str], rounds: int) -> None:
    """Each line of ``only``, ``rounds`` times, in turns; medians after several rounds."""
    adapter(ms, 10)  # warm up Postfix's smtpd processes and TLS session cache
    runs = {
        "raw": lambda: raw_smtplib(ms, n),
        "raw4": lambda: raw_smtplib_many(ms, n, 4),
        "adapter": lambda: adapter(ms, n),
        "one": lambda: whole_outbox(ms, n, 1),
        "four": lambda: whole_outbox(ms, n, 4),
    }
    rates: dict[str, list[float]] = {key: [] for key in only}
    for _ in range(rounds):
        figures = {key: runs[key]() for key in only}
        raw = figures.get("raw")
        for key, figure in figures.items():
            rates[key].append(figure.rate)
            ratio = f", {figure.rate / raw.rate:.2f}x raw" if raw else ""
            print(
                f"{LINES[key]:44} {figure.rate:8.1f} messages/s  ({n} messages{ratio})  "
                f"{figure.per_message()}"
            )
        if "raw" in figures and "raw4" in figures:
            print(f"{'raw four connections / one':44} {figures['raw4'].rate / raw.rate:8.2f}x")
        if "one" in figures and "four" in figures:
            print(
                f"{'four connections / one':44} {figures['four'].rate / figures['one'].rate:8.2f}x"
            )
    if rounds > 1:
        medians = {key: statistics.median(values) for key, values in rates.items()}
        print("medians: " + ", ".join(f"{key} {rate:.1f}" for key, rate in medians.items()))
        if "raw" in medians:
            print(
                "  " + ", ".join(f"{k} {r / medians['raw']:.2f}x raw" for k, r in medians.items())
            )
        if "raw" in medians and "raw4" in medians:
            print(f"  raw4 / raw {medians['raw4'] / medians['raw']:.2f}x")
        if "one" in medians and "four" in medians:
            print(f"  four / one {medians['four'] / medians['one']:.2f}x")


if __name__ == "__main__":
    main()
