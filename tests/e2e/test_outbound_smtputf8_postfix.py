"""Internationalised senders get their acknowledgement through the real Postfix (issue 12, item 1).

113 of the headline benchmark's 2,000 senders write from addresses such as
``chloé.garcia@…``.  Each must get its acknowledgement once, at the address as written: in
UTF-8 in the To field and the envelope (RFC 6531/6532), never mangled into an encoded word.
The stack's Postfix offers SMTPUTF8 and delivers every domain but example.test to its
capture transport (a pipe into one Maildir, each file headed by its envelope recipient), so
that Maildir is where the address's mail is read back.  SQLite only, like
test_outbound_postfix.py.
"""

from __future__ import annotations

import email
import secrets
import time
from email.policy import default

import pytest

from e2e.outbound import Shell, route
from support.headers import field_lines
from support.mailstack import Mailstack

pytestmark = [
    pytest.mark.usefixtures("postroom_env"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def sh(
    capsys: pytest.CaptureFixture[str], mailstack: Mailstack, monkeypatch: pytest.MonkeyPatch
) -> Shell:
    shell = Shell(capsys)
    route(shell)
    user = "alice@example.test"
    monkeypatch.setenv("SMTP_PW", mailstack.password(user))
    url = f"submission://{user}@{mailstack.host}:{mailstack.submission_port}"
    shell.ok(
        "smtp",
        "add",
        "submission",
        "--url",
        url,
        "--password-env",
        "SMTP_PW",
        "--ca-file",
        str(mailstack.ca_file),
        "--default",
    )
    return shell


def inbound(sender: str, name: str) -> bytes:
    """A message as an SMTPUTF8 client writes it: UTF-8 in the header fields."""
    return (
        f"From: {name} <{sender}>\r\n"
        "To: support@example.test\r\n"
        "Subject: Ma fiche de paie\r\n"
        "Date: Mon, 02 Nov 2026 09:30:00 +0000\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@customer.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Bonjour, ma fiche de paie est fausse.\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("local", "domain", "name"),
    [
        ("chlo\u00e9.garcia", "customer.test", "Chlo\u00e9 Garcia"),
        ("\u5f20\u4f1f", "\u4f8b\u5b50.test", "\u5f20\u4f1f"),
    ],
)
def test_an_internationalised_sender_gets_one_acknowledgement_at_the_address_as_written(
    sh: Shell, mailstack: Mailstack, local: str, domain: str, name: str
) -> None:
    sender = f"{local}-{secrets.token_hex(4)}@{domain}"
    decision = sh.ingest(inbound(sender, name))
    assert (decision["outcome"], decision["auto_reply"]) == ("new_ticket", "acknowledgement")
    reference = decision["work_items"][0]["reference"]
    assert sh.json("outbox", "send")["sent"] == 1

    (raw,) = mailstack.wait_captured(sender)
    head = raw.split(b"\n\n", 1)[0]
    assert f"X-Mailstack-Envelope-To: <{sender}>".encode() in head  # the envelope, as written
    assert field_lines(raw.replace(b"\n", b"\r\n"), "To") == [f"To: {sender}".encode()]
    ack = email.message_from_string(raw.decode("utf-8"), policy=default)
    assert [a.addr_spec for a in ack["To"].addresses] == [sender]
    assert ack["Subject"] == f"[{reference}] Ma fiche de paie"
    assert ack["Auto-Submitted"] == "auto-replied"
    received = " ".join(str(h) for h in ack.get_all("Received", []))
    assert "UTF8SMTPSA" in received  # an SMTPUTF8 transaction, authenticated (RFC 6531 §4.3)
    (row,) = sh.outbox()
    assert (row["status"], row["attempts"]) == ("sent", 1)

    # delivered once: another run sends nothing, and nothing else arrives
    assert sh.json("outbox", "send")["sent"] == 0
    time.sleep(1.0)
    assert len(mailstack.captured(sender)) == 1
