"""The outbox against a scripted SMTP server, on SQLite and PostgreSQL.

451 then 250: sent once.  550: failed at once with the server's reason.  A
recipient refused while another accepts: recorded per recipient.  Leases:
two senders never send one row.  A stopped sender: never a second copy, and a
sender killed before the final dot of DATA leaves a message sent later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from e2e.outbound import Shell, route
from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.services.send import OutboxSender
from postroom.storage.sending import SendingRepository
from postroom.storage.tables import outbox as outbox_table
from unit.outbound.fake_smtp import Script, fake_smtp

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    route(shell)
    return shell


def sender() -> OutboxSender:
    return App().sender


def queue_one(sh: Shell, port: int, recipient: str = "carol@customer.test") -> int:
    url = f"smtp://127.0.0.1:{port}?tls=none"
    sh.ok("smtp", "add", "fake", "--url", url, "--default", "--force")
    sh.ticket(recipient)
    (row,) = sh.outbox()
    return int(row["id"])


def test_451_then_250_sends_the_mail_once(sh: Shell) -> None:
    with fake_smtp(Script(replies={"DATA": ["451 4.3.0 try again later", "250 ok"]})) as (
        script,
        port,
    ):
        row_id = queue_one(sh, port)
        first = sh.json("outbox", "send")
        assert (first["sent"], first["retrying"]) == (0, 1)
        (row,) = sh.outbox()
        assert (row["status"], row["attempts"]) == ("queued", 1)
        assert "451 4.3.0 try again later" in row["last_error"]
        assert row["next_attempt"] is not None
        assert sh.json("outbox", "send")["claimed"] == 0  # not due before the back-off
        later = datetime.fromisoformat(row["next_attempt"].rstrip("Z")) + timedelta(seconds=1)
        report = sender().send_due(later)
        assert (report.sent, report.connections) == (1, 1)
        assert sender().send_due(later + timedelta(hours=3)).claimed == 0
    assert len(script.delivered) == 1
    (row,) = sh.outbox()
    assert (row["id"], row["status"], row["attempts"], row["last_error"]) == (
        row_id,
        "sent",
        2,
        None,
    )
    item = sh.json("item", "show", row["reference"])
    assert item["communications"][-1]["status"] == "sent"


def test_550_fails_at_once_with_the_servers_reason(sh: Shell) -> None:
    script = Script(rcpt={"carol@customer.test": "550 5.1.1 <carol@customer.test>: no such user"})
    with fake_smtp(script) as (_, port):
        queue_one(sh, port)
        assert sh.json("outbox", "send")["failed"] == 1
        assert sender().send_due(utcnow() + timedelta(days=1)).claimed == 0
    (row,) = sh.outbox()
    assert (row["status"], row["attempts"], row["next_attempt"]) == ("failed", 1, None)
    assert "550 5.1.1 <carol@customer.test>: no such user" in row["last_error"]
    out = sh.json("item", "show", row["reference"])["communications"][-1]
    assert (out["status"], out["direction"]) == ("failed", "out")
    assert "no such user" in out["status_detail"]
    assert "no such user" in sh.ok("outbox", "list")


def test_mixed_recipients_are_recorded_per_recipient(sh: Shell, tmp_path: object) -> None:
    script = Script(
        rcpt={
            "gone@customer.test": "550 5.1.1 gone",
            "full@customer.test": "452 4.2.2 mailbox full",
        }
    )
    with fake_smtp(script) as (_, port):
        queue_one(sh, port)
        ref = sh.outbox()[0]["reference"]
        body = tmp_path / "body.txt"  # type: ignore[operator]
        body.write_text("Here is the answer.\n")
        sh.ok(
            "item",
            "reply",
            ref,
            "--body-file",
            str(body),
            "--cc",
            "gone@customer.test",
            "--cc",
            "full@customer.test",
        )
        sh.json("outbox", "send")
        reply = sh.outbox()[-1]
        results = reply["recipient_results"]
        assert {a: r["status"] for a, r in results.items()} == {
            "carol@customer.test": "accepted",
            "gone@customer.test": "refused",
            "full@customer.test": "deferred",
        }
        assert reply["status"] == "queued"
        script.rcpt.clear()
        sender().send_due(utcnow() + timedelta(hours=1))
    reply = sh.outbox()[-1]
    assert reply["status"] == "sent"
    assert reply["recipient_results"]["full@customer.test"]["status"] == "accepted"
    assert reply["recipient_results"]["gone@customer.test"]["status"] == "refused"
    assert "gone@customer.test: 550 5.1.1 gone" in reply["last_error"]
    # carol had it after the first attempt: the second went to the deferred one only
    assert [d.recipients for d in script.delivered][-1] == ["full@customer.test"]


def test_two_senders_never_claim_the_same_row(sh: Shell) -> None:
    with fake_smtp() as (_, port):
        queue_one(sh, port)
        app = App()
        now = utcnow()
        with app.storage.writing() as uow:
            first = uow.sending.claim_due(now, uow.sending.lease_token(now, timedelta(minutes=5)))
        with app.storage.writing() as uow:
            second = uow.sending.claim_due(now, uow.sending.lease_token(now, timedelta(minutes=5)))
        assert (len(first), len(second)) == (1, 0)
        assert sender().send_due(now).claimed == 0  # leased by "first"
        # the lease of a claimant that stopped before DATA expires; the row is sent then
        assert sender().send_due(now + timedelta(minutes=6)).sent == 1


def test_a_sender_stopped_during_data_never_causes_a_second_copy(sh: Shell) -> None:
    with fake_smtp() as (script, port):
        row_id = queue_one(sh, port)
        app = App()
        now = utcnow()
        token = SendingRepository.lease_token(now, timedelta(minutes=5))
        with app.storage.writing() as uow:
            uow.sending.claim_due(now, token)
            assert uow.sending.start_delivery(row_id, token, token, {})
        # ... the process dies here, after handing the message over
        report = sender().send_due(now + timedelta(minutes=10))
        assert (report.unknown, report.sent) == (1, 0)
        (row,) = sh.outbox()
        assert row["status"] == "unknown"
        assert "not sent again automatically" in row["last_error"]
        assert not script.delivered
        sh.ok("outbox", "retry", str(row_id))
        assert sh.json("outbox", "send")["sent"] == 1
    assert len(script.delivered) == 1


def test_the_delivering_lease_runs_from_the_final_dot_not_from_the_rounds_start(
    sh: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages earlier in the round took 10 minutes: the lease set just before the final
    dot still lasts its 5 minutes from then, so no other process calls the row unknown
    while the server is answering."""
    clock = iter([0.0, 600.0])  # the round starts; 10 minutes later, this message's dot
    fake_time = SimpleNamespace(monotonic=lambda: next(clock, 600.0))
    monkeypatch.setattr("postroom.services.send.time", fake_time)
    renewed: list[datetime] = []
    start_delivery = SendingRepository.start_delivery

    def spy(*args: object) -> bool:
        # args: (repository, outbox_id, token, new_token, pending)
        renewed.append(args[3])  # type: ignore[arg-type]
        return start_delivery(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(SendingRepository, "start_delivery", spy)
    with fake_smtp() as (script, port):
        queue_one(sh, port)
        now = utcnow()
        assert sender().send_due(now).sent == 1
    assert len(script.delivered) == 1
    (new_token,) = renewed
    assert new_token >= now + timedelta(minutes=15)


def test_cancel_and_retry(sh: Shell) -> None:
    row_id = queue_one(sh, 9)  # nothing listens on port 9: connection refused
    report = sh.json("outbox", "send")
    assert (report["retrying"], report["connections"]) == (1, 0)
    assert "connection refused" in sh.outbox()[0]["last_error"]
    assert sh.json("outbox", "cancel", str(row_id))["status"] == "cancelled"
    assert sh.json("outbox", "send")["claimed"] == 0
    again = sh.json("outbox", "retry", str(row_id))
    assert (again["status"], again["attempts"]) == ("queued", 0)
    bad = sh("outbox", "cancel", "999")
    assert (bad.code, bad.err.strip()) == (
        1,
        "postroom: no outbox message 999 (see: postroom outbox list)",
    )


def test_no_server_for_the_address_waits_with_a_reason(sh: Shell) -> None:
    sh.ticket("carol@customer.test")
    sh.json("outbox", "send")
    (row,) = sh.outbox()
    assert row["status"] == "queued"
    assert "no SMTP server sends for support@example.test" in row["last_error"]


# ---------------------------------------------------------------------- killed senders
def send_in_a_process(failpoints: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTROOM_FAILPOINTS": failpoints}
    return subprocess.Popen(
        [sys.executable, "-m", "postroom", "outbox", "send", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def killer(procs: list[subprocess.Popen[bytes]]) -> Callable[[], None]:
    """A fake-server hook that SIGKILLs the sending process before answering."""

    def kill() -> None:
        deadline = time.monotonic() + 30
        while not procs and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(timeout=30)

    return kill


@pytest.mark.parametrize("verb", ["MAIL", "RCPT", "DATA"])
def test_a_sender_killed_during_the_envelope_sends_the_message_later(sh: Shell, verb: str) -> None:
    """Killed before the server could have taken the message: retryable, not `unknown`."""
    procs: list[subprocess.Popen[bytes]] = []
    script = Script(on={verb: killer(procs)})
    with fake_smtp(script) as (_, port):
        queue_one(sh, port)
        procs.append(send_in_a_process())
        assert procs[0].wait(timeout=60) == -signal.SIGKILL
        (row,) = sh.outbox()
        assert row["status"] == "sending"
        script.on.clear()
        report = sender().send_due(utcnow() + timedelta(minutes=6))
        assert (report.unknown, report.sent) == (0, 1)
    assert len(script.delivered) == 1
    assert sh.outbox()[0]["status"] == "sent"


@pytest.mark.parametrize(
    ("failpoint", "status", "unknown", "sent"),
    [
        ("smtp-envelope-accepted", "sending", 0, 1),
        ("smtp-before-final-dot", "delivering", 1, 0),
    ],
)
def test_failpoints_around_the_delivering_mark(
    sh: Shell, failpoint: str, status: str, unknown: int, sent: int
) -> None:
    """`delivering` is committed between the content and the final dot, and only there."""
    with fake_smtp() as (script, port):
        queue_one(sh, port)
        proc = send_in_a_process(failpoint)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        (row,) = sh.outbox()
        assert row["status"] == status
        report = sender().send_due(utcnow() + timedelta(minutes=10))
        assert (report.unknown, report.sent) == (unknown, sent)
    assert len(script.delivered) == sent  # the server never saw the final dot of the first


def test_a_row_taken_over_during_the_envelope_gets_no_final_dot(sh: Shell) -> None:
    """Another process took the lease while RCPT was answered: this one drops the line."""
    app = App()

    def take_over() -> None:
        with app.engine.begin() as conn:
            conn.execute(update(outbox_table).values(lease_until=datetime(2099, 1, 1)))

    script = Script(on={"RCPT": take_over})
    with fake_smtp(script) as (_, port):
        queue_one(sh, port)
        report = sender().send_due(utcnow())
        assert (report.sent, report.skipped, report.unknown) == (0, 1, 0)
    assert not script.delivered
    (row,) = sh.outbox()
    assert row["status"] == "sending"  # left as the new holder has it
