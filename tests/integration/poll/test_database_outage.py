"""A PostgreSQL server that goes away and comes back (issue 10, items 6 and 14).

`postroom poll` says per channel what the outage did and kept (error class
``storage``, exit 1); `postroom run` keeps both processes up, says once that the
database is unreachable and when it tries again, and goes on when it is back:
every message filed exactly once, every automated reply sent exactly once.
Each test has a private PostgreSQL cluster (`support.pgcluster`) it stops and
starts; the shared server is never touched.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from e2e.cli import Result
from postroom.cli.state import current_app
from postroom.clock import utcnow
from postroom.errors import StorageUnavailableError
from postroom.ports.sending import SmtpServer, SmtpSession
from postroom.services.ingest import Arrival, IngestResult, IngestService
from support.mails import make_mail
from support.pgcluster import Cluster, pg_cluster
from support.polling import Box, Postroom
from support.running import alive, start_run, workers

__all__ = ["pg_cluster"]


@pytest.fixture
def database_url(pg_cluster: Cluster) -> str:
    """Postroom's database is the private cluster (overrides `support.database`)."""
    return pg_cluster.url


def _stop_before_batch(
    monkeypatch: pytest.MonkeyPatch, cluster: Cluster, nth: int, restart: bool
) -> list[int]:
    """Stop the cluster just before the ``nth`` batch is stored (and start it again right
    after that batch failed, when ``restart``); returns the sizes of the batches seen."""
    real = IngestService.ingest_batch
    seen: list[int] = []

    def ingest_batch(
        self: IngestService, arrivals: Sequence[Arrival], *args: Any, **kwargs: Any
    ) -> list[IngestResult]:
        seen.append(len(arrivals))
        if len(seen) != nth:
            return real(self, arrivals, *args, **kwargs)
        cluster.stop("fast")
        try:
            return real(self, arrivals, *args, **kwargs)
        finally:
            if restart:
                cluster.start()

    monkeypatch.setattr(IngestService, "ingest_batch", ingest_batch)
    return seen


def _poll_stopped_at(
    postroom: Postroom,
    cluster: Cluster,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    nth: int,
    restart: bool,
) -> tuple[Box, int, Result]:
    """`postroom poll` of a mailbox of three batches, the cluster stopped before the ``nth``
    (`_stop_before_batch`); it fails with exit status 1."""
    monkeypatch.setenv("POSTROOM_POLL_BATCH", str(batch))
    box = postroom.mailbox("outage")
    total = batch * 3
    postroom.stack.fill(box.address, total)
    with pytest.MonkeyPatch.context() as patch:
        _stop_before_batch(patch, cluster, nth=nth, restart=restart)
        result = postroom("poll")
    assert result.code == 1, result.out + result.err
    return box, total, result


def _line(out: str, channel: str) -> str:
    [line] = [x for x in out.splitlines() if x.startswith(f"{channel}:")]
    return line


def test_poll_facing_a_stopped_database_says_what_it_kept_and_deletes_only_that(
    postroom: Postroom, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = 2
    box, total, result = _poll_stopped_at(postroom, pg_cluster, monkeypatch, batch, 2, False)

    assert "internal error" not in result.err and "Traceback" not in result.out + result.err
    line = _line(result.out, box.channel)
    assert "error (storage): the database could not be reached" in line, line
    assert f"{batch} message(s) stored before the outage were kept" in line, line
    # Store, then delete: only what was committed before the outage left the server.
    assert postroom.stack.count(box.address) == total - batch
    pg_cluster.start()
    postroom.poll_json()
    assert postroom.stack.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == counts["tickets"] == total


def test_a_storage_failure_is_recorded_on_the_channel_once_the_database_is_back(
    postroom: Postroom, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, total, result = _poll_stopped_at(postroom, pg_cluster, monkeypatch, 3, 1, True)

    line = _line(result.out, box.channel)
    assert "error (storage)" in line and "nothing was stored" in line, line
    channel = postroom.channel(box.channel)
    assert channel["last_error_class"] == "storage"
    assert "could not be reached" in channel["last_error"]
    # Not the mailbox's fault: an outage does not count towards switching the channel off.
    assert channel["failure_count"] == 0 and channel["enabled"]
    assert postroom.stack.count(box.address) == total
    [report] = postroom.poll_json()
    assert report["fetched"] == total and not report["errors"]
    assert postroom.channel(box.channel)["last_error_class"] is None


def test_poll_with_the_database_down_from_the_start_is_one_readable_line(
    postroom: Postroom, pg_cluster: Cluster
) -> None:
    box = postroom.mailbox("down")
    postroom.stack.fill(box.address, 2)
    pg_cluster.stop("fast")

    result = postroom("poll")

    assert result.code == 1
    assert result.err.startswith("postroom: storage: the database could not be reached"), result.err
    assert len(result.err.splitlines()) == 1 and "internal error" not in result.err
    assert postroom.stack.count(box.address) == 2


# ---------------------------------------------------------------------------- sending
def test_sending_goes_on_after_the_database_went_away_in_the_middle_of_a_round(
    postroom: Postroom, pg_cluster: Cluster
) -> None:
    _relay_and_acknowledge(postroom)
    tag = f"{os.getpid()}-{time.time_ns()}"
    customers = [f"s{i}-{tag}@customer.test" for i in range(5)]
    for customer in customers:
        result = postroom("ingest", stdin=make_mail(to="ack@example.test", sender=customer))
        assert result.code == 0, result.err
    sender = current_app().sender
    real = sender.connector
    stopped: list[bool] = []

    class Stopping:
        """The database stops right after the first message is handed over."""

        def connect(self, server: SmtpServer) -> SmtpSession:
            connection = real.connect(server)
            real_send = connection.send

            def send(*args: Any, **kwargs: Any) -> Any:
                result = real_send(*args, **kwargs)
                if not stopped:
                    stopped.append(True)
                    pg_cluster.stop("fast")
                return result

            connection.send = send  # type: ignore[method-assign]
            return connection

    sender.connector = Stopping()
    with pytest.raises(StorageUnavailableError):
        sender.send_due(utcnow())
    pg_cluster.start()
    # The next round writes what the last one could not, and sends the rest at once
    # (no waiting for leases to run out). The first round's other connections may have
    # sent (and recorded) some before the database went away: the round sends the rest.
    report = sender.send_due(utcnow())
    assert 1 <= report.sent <= len(customers) and not report.errors, report
    assert [len(postroom.stack.wait_captured(c)) for c in customers] == [1] * len(customers)
    rows = postroom("outbox", "list", "--json").json()
    assert [r["status"] for r in rows] == ["sent"] * len(customers)


# ---------------------------------------------------------------------------- postroom run
OUTAGE = 7.0
"""Seconds the database stays down while `postroom run` works."""


def test_run_survives_a_database_restart(
    postroom: Postroom, pg_cluster: Cluster, tmp_path: Path
) -> None:
    stack = postroom.stack
    filled = [postroom.mailbox(f"dbrun{i}") for i in range(3)]
    for box in filled:
        stack.fill(box.address, 300)
    # Mail to the acknowledging route comes through a mailbox of its own (the address a
    # message was fetched from counts as one it was sent to: a routed one adds a Ticket).
    acks = postroom.mailbox("dbrunack", route=False)
    boxes = [*filled, acks]
    _relay_and_acknowledge(postroom)
    tag = f"{os.getpid()}-{time.time_ns()}"
    customers = [f"c{i}-{tag}@customer.test" for i in range(12)]
    before, during = customers[:6], customers[6:]
    for customer in before:
        stack.deliver(acks.address, make_mail(to="ack@example.test", sender=customer))
    log_path = tmp_path / "run.log"
    proc = start_run(postroom.env, log_path, workers=2)
    try:
        [worker] = workers(proc.pid)
        _wait(lambda: postroom.counts()["messages"] >= 150, 60, "polling under way")
        pg_cluster.stop("immediate")  # a crash: sessions cut in the middle of their work
        for customer in during:  # mail keeps arriving meanwhile
            stack.deliver(acks.address, make_mail(to="ack@example.test", sender=customer))
        time.sleep(OUTAGE)
        assert alive(proc.pid) and alive(worker), log_path.read_text()
        pg_cluster.start()
        _wait(
            lambda: (
                not any(stack.count(b.address) for b in boxes)
                and all(stack.captured(c) for c in customers)
            ),
            120,
            "every mailbox emptied and every reply sent after the restart",
            log_path,
        )
        assert alive(proc.pid) and alive(worker), log_path.read_text()
        assert workers(proc.pid) == [worker]  # the same worker: it survived, not restarted
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log = log_path.read_text()
    assert proc.returncode == 0, log
    assert "Traceback" not in log and "internal error" not in log, log
    for pid in (proc.pid, worker):
        mine = [line for line in log.splitlines() if line.split()[2:3] == [str(pid)]]
        down = [line for line in mine if "database could not be reached" in line]
        assert any(re.search(r"retrying in \d+ s", line) for line in down), log
        assert any("database is back" in line for line in mine), log
        # At most one line per back-off step (1, 2, 4 s ...), never one per tick (0.2 s),
        # plus one per poll that was under way when the server stopped.
        assert len(down) <= 5 + 3, "\n".join(down)
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == 900 + len(customers)
    assert counts["inbound"] == counts["tickets"] == 900 + len(customers)
    assert [len(stack.captured(c)) for c in customers] == [1] * len(customers)
    rows = postroom("outbox", "list", "--json").json()
    assert len(rows) == len(customers) and {r["status"] for r in rows} == {"sent"}


def test_run_started_while_the_database_is_down_waits_for_it(
    postroom: Postroom, pg_cluster: Cluster, tmp_path: Path
) -> None:
    box = postroom.mailbox("dbstart")
    postroom.stack.fill(box.address, 20)
    pg_cluster.stop("fast")
    log_path = tmp_path / "run.log"
    proc = start_run(postroom.env, log_path, workers=1)
    try:
        _wait(lambda: "retrying in 2 s" in log_path.read_text(), 30, "a second try", log_path)
        assert proc.poll() is None, log_path.read_text()
        pg_cluster.start()
        _wait(lambda: postroom.stack.count(box.address) == 0, 60, "the mailbox emptied", log_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log = log_path.read_text()
    assert proc.returncode == 0 and "Traceback" not in log, log
    assert "the database could not be reached" in log and "the database is back" in log, log
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == 20


def _relay_and_acknowledge(postroom: Postroom) -> None:
    stack = postroom.stack
    os.environ["SMTP_PW"] = stack.password("alice@example.test")
    url = f"submission://alice@example.test@{stack.host}:{stack.submission_port}"
    postroom.ok("smtp", "add", "relay", "--url", url, "--password-env", "SMTP_PW",
                "--ca-file", str(stack.ca_file), "--default")  # fmt: skip
    postroom.ok("route", "add", "ack@example.test", "--context", "A", "--category", "B",
                "--queue", "q", "--acknowledge")  # fmt: skip


def _wait(done: object, timeout: float, what: str, log: Path | None = None) -> None:
    assert callable(done)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text() if log else ''}")
