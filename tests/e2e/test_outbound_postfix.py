"""Outbound mail through the real Postfix of the test mail stack, as a new user would run it.

Everything for domains other than example.test is captured by the stack, so
the customers here write from ``…@customer.test`` addresses made per test.
SQLite only: the database side of the outbox runs on both engines in
test_outbound_retry.py.
"""

from __future__ import annotations

import email
import secrets
import time
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from e2e.outbound import EXCHANGE_DOMAIN, Shell, route
from postroom.bootstrap import App
from support.headers import field_lines
from support.mails import make_mail
from support.mailstack import Mailstack

pytestmark = [
    pytest.mark.usefixtures("postroom_env"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    route(shell)
    return shell


def customer() -> str:
    return f"carol-{secrets.token_hex(5)}@customer.test"


def add_server(
    sh: Shell,
    ms: Mailstack,
    monkeypatch: pytest.MonkeyPatch,
    scheme: str = "submission",
    user: str = "alice@example.test",
    *flags: str,
) -> None:
    port = ms.submission_port if scheme == "submission" else ms.smtps_port
    monkeypatch.setenv("SMTP_PW", ms.password(user))
    url = f"{scheme}://{user}@{ms.host}:{port}"
    sh.ok(
        "smtp",
        "add",
        scheme,
        "--url",
        url,
        "--password-env",
        "SMTP_PW",
        "--ca-file",
        str(ms.ca_file),
        *flags,
    )


def captured_with_id(ms: Mailstack, to: str, message_id: str, timeout: float = 10.0) -> Message:
    """The captured message for `to` with this Message-ID (deliveries may land in any order)."""
    deadline = time.monotonic() + timeout
    while True:
        for raw in ms.captured(to):
            mail = email.message_from_bytes(raw, policy=default)
            if mail["Message-ID"] == message_id:
                return mail
        assert time.monotonic() < deadline, f"no message {message_id} captured for {to}"
        time.sleep(0.05)


def arrived(ms: Mailstack, to: str) -> Message:
    found = ms.wait_captured(to)
    assert len(found) == 1, f"{len(found)} messages captured for {to}"
    return email.message_from_bytes(found[0], policy=default)


def test_submission_acknowledgement_headers_and_replies_that_come_back(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_server(sh, mailstack, monkeypatch, "submission", "alice@example.test", "--default")
    carol = customer()
    ref = sh.ticket(carol, subject="Payroll is wrong", message_id="<first@customer.test>")
    assert sh.json("outbox", "send")["sent"] == 1
    ack = arrived(mailstack, carol)
    assert ack["Message-ID"].startswith("<postroom.")
    assert (ack["In-Reply-To"], ack["References"]) == ("<first@customer.test>",) * 2
    assert ack["Subject"] == f"[{ref}] Payroll is wrong"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Postroom-Marker"] == "1"
    assert ack["From"] == "support@example.test"
    received = " ".join(str(h) for h in ack.get_all("Received", []))
    assert "ESMTPSA" in received and "Authenticated sender: alice@example.test" in received
    (row,) = sh.outbox()
    assert (row["status"], row["attempts"], row["smtp_server"]) == ("sent", 1, "smtp:submission")

    # a mail client that keeps the thread headers
    chain = f"{ack['References']} {ack['Message-ID']}"
    kept = sh.ingest(
        make_mail(
            sender=carol,
            to="support@example.test",
            subject=f"RE: {ack['Subject']}",
            in_reply_to=ack["Message-ID"],
            references=chain,
        )
    )
    assert (kept["outcome"], kept["matched_by"]) == ("updated", "thread")
    assert kept["work_items"][0]["reference"] == ref
    # one that drops them but keeps the subject
    dropped = sh.ingest(
        make_mail(sender=carol, to="support@example.test", subject=f"AW: {ack['Subject']}")
    )
    assert (dropped["outcome"], dropped["matched_by"]) == ("updated", "subject")
    assert dropped["work_items"][0]["reference"] == ref


def test_smtps_agent_reply_with_cc_and_attachment(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    add_server(sh, mailstack, monkeypatch, "smtps", "bob@example.test", "--send-as")
    carol, boss = customer(), customer()
    ref = sh.ticket(carol, subject="Missing payslip")
    body, attachment = tmp_path / "body.txt", tmp_path / "payslip.pdf"
    body.write_text("Dear Carol,\nyour payslip is attached.\n")
    attachment.write_bytes(b"%PDF-1.4 fake payslip")
    queued = sh.json(
        "item", "reply", ref, "--body-file", str(body), "--cc", boss, "--attach", str(attachment)
    )
    assert sh.json("outbox", "send")["sent"] == 2  # the acknowledgement and the reply
    item = sh.json("item", "show", ref)
    ack_id = item["communications"][1]["message_id"]
    for address in (carol, boss):
        reply = captured_with_id(mailstack, address, queued["message_id"])
    assert reply["Subject"] == f"[{ref}] Re: Missing payslip"
    assert reply["In-Reply-To"] == ack_id
    assert "Auto-Submitted" not in reply
    assert (reply["To"], reply["Cc"]) == (carol, boss)
    (part,) = list(reply.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("payslip.pdf", b"%PDF-1.4 fake payslip")
    assert [c["status"] for c in item["communications"]] == ["received", "sent", "sent"]
    back = sh.ingest(
        make_mail(
            sender=carol,
            to="support@example.test",
            subject=f"Re: {reply['Subject']}",
            in_reply_to=reply["Message-ID"],
        )
    )
    assert (back["matched_by"], back["work_items"][0]["reference"]) == ("thread", ref)


def dsn(about: Message, recipient: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: support@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn.1@mx.customer.test>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {about['From']}\r\nTo: {recipient}\r\nMessage-ID: {about['Message-ID']}\r\n"
        f"Subject: {about['Subject']}\r\n--b--\r\n"
    ).encode()


def test_a_bounce_marks_the_outbound_communication_bounced(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_server(sh, mailstack, monkeypatch, "submission", "alice@example.test", "--default")
    carol = customer()
    ref = sh.ticket(carol)
    sh.json("outbox", "send")
    decision = sh.ingest(dsn(arrived(mailstack, carol), carol))
    assert (decision["rule"], decision["work_items"][0]["reference"]) == ("D3", ref)
    out = [c for c in sh.json("item", "show", ref)["communications"] if c["direction"] == "out"]
    assert out[0]["status"] == "bounced"
    assert "550 5.1.1 user unknown" in out[0]["status_detail"]
    assert sh.outbox()[0]["status"] == "bounced"


def test_an_edited_template_is_used(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "acknowledgement.txt").write_text(
        "Subject: We got it: $subject\n\nDear $sender_name ($sender),\n"
        "your request is $reference in $context / $category.\n"
    )
    monkeypatch.setenv("POSTROOM_TEMPLATES_DIR", str(tmp_path))
    add_server(sh, mailstack, monkeypatch, "submission", "alice@example.test", "--default")
    carol = customer()
    ref = sh.ticket(f"Carol Jones <{carol}>", subject="Leave request")
    sh.json("outbox", "send")
    ack = arrived(mailstack, carol)
    assert ack["Subject"] == f"[{ref}] We got it: Leave request"
    assert (
        f"Dear Carol Jones ({carol}),\nyour request is {ref} in Acme / Query." in ack.get_content()
    )


def test_per_channel_smtp_reuses_the_channels_login_and_authorization_identity(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_server(sh, mailstack, monkeypatch, "submission", "bob@example.test", "--default")
    monkeypatch.setenv("ALICE_PW", mailstack.password("alice@example.test"))
    sh.ok(
        "channel",
        "add",
        "shared",
        "--url",
        f"pop3s://alice@example.test@{mailstack.host}:{mailstack.pop3s_port}",
        "--password-env",
        "ALICE_PW",
        "--authzid",
        "shared@example.test",
        "--ca-file",
        str(mailstack.ca_file),
        "--no-check",
    )
    with App().storage.writing() as uow:
        shared = uow.channels.get("shared")
        uow.channels.set_smtp(
            shared.id, f"submission://{mailstack.host}:{mailstack.submission_port}"
        )
    route(sh, "shared@example.test")
    carol = customer()
    sh.ticket(carol, route="shared@example.test")
    assert sh.json("outbox", "send")["sent"] == 1
    (row,) = sh.outbox()
    assert (row["from"], row["smtp_server"]) == ("shared@example.test", "channel:shared")
    received = " ".join(str(h) for h in arrived(mailstack, carol).get_all("Received", []))
    assert "Authenticated sender: alice@example.test" not in received
    assert "Authenticated sender: shared@example.test" in received


def test_passwords_never_show(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    monkeypatch.setenv("SMTP_PW", wrong)
    url = f"submission://alice@example.test@{mailstack.host}:{mailstack.submission_port}"
    outputs: list[Any] = [
        sh(
            "smtp",
            "add",
            "relay",
            "--url",
            url,
            "--password-env",
            "SMTP_PW",
            "--ca-file",
            str(mailstack.ca_file),
            "--default",
            "--force",
        )
    ]
    sh.ticket(customer())
    for argv in (
        ("outbox", "send"),
        ("outbox", "send", "--json"),
        ("outbox", "list", "--json"),
        ("smtp", "list", "--json"),
        ("smtp", "list"),
        ("outbox", "list"),
    ):
        outputs.append(sh(*argv))
    row = sh.outbox()[0]
    assert row["status"] == "queued"
    assert "AUTH PLAIN for alice@example.test refused: 535" in row["last_error"]
    text = " ".join(o.out + o.err for o in outputs)
    assert wrong not in text
    db = Path(App().settings.effective_database_url.removeprefix("sqlite:///")).read_bytes()
    assert wrong.encode() not in db


def test_an_exchange_length_message_id_threads_raw_through_postfix(
    sh: Shell, mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    add_server(sh, mailstack, monkeypatch, "submission", "alice@example.test", "--default")
    carol = customer()
    exchange_id = f"<SL2P216MB{secrets.token_hex(24).upper()}@{EXCHANGE_DOMAIN}>"
    assert len(exchange_id) >= 78
    raw = (
        f"From: Carol <{carol}>\r\nTo: support@example.test\r\nSubject: Payslip\r\n"
        f"Date: Mon, 02 Nov 2026 09:30:00 +0000\r\nMessage-ID: {exchange_id}\r\n\r\nHello\r\n"
    ).encode()
    ref = sh.ingest(raw)["work_items"][0]["reference"]
    body = tmp_path / "body.txt"
    body.write_text("Here it is.\n")
    queued = sh.json("item", "reply", ref, "--body-file", str(body))
    assert sh.json("outbox", "send")["sent"] == 2  # the acknowledgement and the reply
    deadline = time.monotonic() + 10
    while len(mailstack.captured(carol)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    captured = mailstack.captured(carol)
    assert len(captured) == 2
    for mail in captured:
        for name in ("Message-ID", "In-Reply-To", "References"):
            lines = field_lines(mail, name, b"\n")
            assert lines and all(b"=?" not in line and len(line) <= 998 for line in lines)
        references = b" ".join(field_lines(mail, "References", b"\n")).split(b":", 1)[1].split()
        assert exchange_id.encode() in references
    (ack,) = [m for m in captured if queued["message_id"].encode() not in m]
    assert field_lines(ack, "In-Reply-To", b"\n") == [f"In-Reply-To: {exchange_id}".encode()]
    # the customer's client answers the acknowledgement: it threads back to the Ticket
    ack_id = email.message_from_bytes(ack, policy=default)["Message-ID"]
    answer = (
        f"From: Carol <{carol}>\r\nTo: support@example.test\r\nSubject: Thanks\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@customer.test>\r\nIn-Reply-To: {ack_id}\r\n"
        f"References: {exchange_id}\r\n {ack_id}\r\n\r\nThanks\r\n"
    ).encode()
    back = sh.ingest(answer)
    assert (back["matched_by"], back["work_items"][0]["reference"]) == ("thread", ref)
