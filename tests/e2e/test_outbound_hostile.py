"""Outbound mail built from hostile inbound mail, through the real CLI and a scripted SMTP
server (issue 10, items 7, 8 and 9): what reaches the wire is checked byte by byte.
"""

from __future__ import annotations

import secrets
import unicodedata
from email import message_from_bytes, message_from_string
from email.policy import default
from pathlib import Path

import pytest

from e2e.outbound import EXCHANGE_DOMAIN, Shell, route
from support.headers import field_lines
from unit.outbound.fake_smtp import Delivered, Script, fake_smtp

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    route(shell)
    return shell


def raw_mail(
    *, sender: str, subject: str = "Question", reply_to: str | None = None, message_id: str = ""
) -> bytes:
    """Bytes as a hostile or unusual client writes them (no library tidies them up)."""
    head = [
        f"From: {sender}",
        "To: support@example.test",
        f"Subject: {subject}",
        "Date: Mon, 02 Nov 2026 09:30:00 +0000",
        f"Message-ID: {message_id or f'<{secrets.token_hex(8)}@customer.test>'}",
    ]
    if reply_to is not None:
        head.append(f"Reply-To: {reply_to}")
    return ("\r\n".join(head) + "\r\n\r\nHello,\r\nplease help.\r\n").encode("utf-8")


def use_fake(sh: Shell, port: int) -> None:
    sh.ok("smtp", "add", "fake", "--url", f"smtp://127.0.0.1:{port}?tls=none", "--default")


def head_of(delivered: Delivered) -> bytes:
    return delivered.data.split(b"\r\n\r\n", 1)[0]


def in_queue_order(sh: Shell, delivered: list[Delivered]) -> list[Delivered]:
    """The deliveries in the order their messages were queued: a round sends over several
    connections at once, so the server sees them in any order."""
    queued = {row["message_id"]: row["id"] for row in sh.outbox()}

    def position(sent: Delivered) -> int:
        (line,) = field_lines(head_of(sent), "Message-ID")
        return int(queued[line.split(b":", 1)[1].strip().decode()])

    return sorted(delivered, key=position)


@pytest.mark.parametrize(
    "reply_to",
    ["all-staff", "all-staff@localhost", '"all staff"', "@", "<>", "staff@corp.local"],
)
def test_an_unqualified_reply_to_is_never_written_to(sh: Shell, reply_to: str) -> None:
    carol = f"carol-{secrets.token_hex(4)}@customer.test"
    decision = sh.ingest(raw_mail(sender=carol, reply_to=reply_to))
    assert (decision["outcome"], decision["auto_reply"]) == ("new_ticket", "acknowledgement")
    (row,) = sh.outbox()
    assert row["to"] == [carol]
    with fake_smtp() as (script, port):
        use_fake(sh, port)
        assert sh.json("outbox", "send")["sent"] == 1
    (sent,) = script.delivered
    assert sent.recipients == [carol]
    assert field_lines(head_of(sent), "To") == [f"To: {carol}".encode()]


@pytest.mark.parametrize("sender", ["bob", "bob@localhost", "bob@intranet", '"bob"@'])
def test_nothing_qualified_sends_nothing_and_says_why(sh: Shell, sender: str) -> None:
    decision = sh.ingest(raw_mail(sender=sender, reply_to="all-staff"))
    assert decision["outcome"] == "new_ticket"
    assert decision["auto_reply"] is None
    why = decision["auto_reply_suppressed"]
    assert "fully qualified" in why or why == "no From address to reply to"  # From unreadable
    assert sh.outbox() == []


SUBJECT_CHARS = ["\x00", "\x07", "\x0b", "\x1b", "\x1c", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", SUBJECT_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_item_reply_works_for_a_subject_with_any_control_character(
    sh: Shell, tmp_path: Path, char: str
) -> None:
    carol = f"carol-{secrets.token_hex(4)}@customer.test"
    word = "".join(f"={b:02X}" for b in f"Invoice{char}42".encode())
    decision = sh.ingest(raw_mail(sender=carol, subject=f"=?utf-8?q?{word}?= overdue"))
    new_ref = decision["work_items"][0]["reference"]
    body = tmp_path / "body.txt"
    body.write_text("Here is the answer.\n")
    result = sh("item", "reply", new_ref, "--body-file", str(body), "--json")
    assert result.code == 0, result.err
    with fake_smtp() as (script, port):
        use_fake(sh, port)
        sh.json("outbox", "send")
    assert script.delivered
    for sent in script.delivered:
        head = head_of(sent)
        assert all(0x20 <= b < 0x7F or b in b"\r\n" for b in head)
        parsed = message_from_bytes(sent.data, policy=default)
        for name, value in parsed.items():
            text = str(value)
            assert not [c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")], name
    reply = message_from_bytes(in_queue_order(sh, script.delivered)[-1].data, policy=default)
    assert str(reply["Subject"]).startswith(f"[{new_ref}] Re: Invoice")


def test_an_exchange_length_message_id_threads_raw(sh: Shell, tmp_path: Path) -> None:
    carol = f"carol-{secrets.token_hex(4)}@customer.test"
    exchange_id = f"<SL2P216MB{secrets.token_hex(20).upper()}@{EXCHANGE_DOMAIN}>"
    assert len(exchange_id) >= 78
    decision = sh.ingest(raw_mail(sender=carol, message_id=exchange_id))
    ref = decision["work_items"][0]["reference"]
    body = tmp_path / "body.txt"
    body.write_text("Here is the answer.\n")
    sh.ok("item", "reply", ref, "--body-file", str(body))
    absurd = "<" + "z" * 3000 + "@customer.test>"
    sh.ingest(raw_mail(sender=carol, subject=f"[{ref}] more", message_id=absurd))
    sh.ok("item", "reply", ref, "--body-file", str(body))
    with fake_smtp(Script()) as (script, port):
        use_fake(sh, port)
        assert sh.json("outbox", "send")["sent"] == 3
    ack, first, second = (head_of(d) for d in in_queue_order(sh, script.delivered))
    for head in (ack, first, second):
        for name in ("Message-ID", "In-Reply-To", "References"):
            for line in field_lines(head, name):
                assert b"=?" not in line and len(line) <= 998
        assert b"zzzz" not in head  # the absurd id is never copied
    assert field_lines(ack, "In-Reply-To") == [f"In-Reply-To: {exchange_id}".encode()]
    # the reply after the absurd one answers the newest message whose id can be written
    first_id = field_lines(first, "Message-ID")[0].split(b" ", 1)[1]
    assert field_lines(second, "In-Reply-To") == [b"In-Reply-To: " + first_id]
    assert exchange_id.encode() in b" ".join(field_lines(first, "References"))
    assert exchange_id.encode() in b" ".join(field_lines(second, "References"))


@pytest.mark.parametrize("local", ["jos\u00e9", "\u00e9l\u00e8ve", "\u5f20\u4f1f"])
def test_a_non_ascii_local_part_is_written_as_it_is_in_an_smtputf8_transaction(
    sh: Shell, tmp_path: Path, local: str
) -> None:
    # RFC 6531/6532: the acknowledgement and the agent's reply go to the address as it
    # was written, in UTF-8 in the To field and the envelope, never as an encoded word.
    sender = f"{local}-{secrets.token_hex(3)}@customer.test"
    decision = sh.ingest(raw_mail(sender=f"Jos\u00e9 <{sender}>"))
    assert decision["auto_reply"] == "acknowledgement"
    assert not decision.get("auto_reply_suppressed")
    body = tmp_path / "body.txt"
    body.write_text("Hello\n")
    sh.ok("item", "reply", decision["work_items"][0]["reference"], "--body-file", str(body))
    with fake_smtp(Script(smtputf8=True)) as (script, port):
        use_fake(sh, port)
        assert sh.json("outbox", "send")["sent"] == 2
    assert len(script.delivered) == 2
    for sent in script.delivered:
        assert sent.recipients == [sender]
        assert field_lines(head_of(sent), "To") == [f"To: {sender}".encode()]
        parsed = message_from_string(sent.data.decode("utf-8"), policy=default)
        assert [a.addr_spec for a in parsed["To"].addresses] == [sender]
    mail_from = [line for line in script.envelope if line.upper().startswith("MAIL")]
    assert len(mail_from) == 2 and all(line.endswith(" SMTPUTF8") for line in mail_from)
    assert f"RCPT TO:<{sender}>" in script.envelope


def test_without_smtputf8_a_non_ascii_recipient_is_refused_with_its_reason(sh: Shell) -> None:
    chloe = f"chlo\u00e9-{secrets.token_hex(3)}@customer.test"
    carol = f"carol-{secrets.token_hex(3)}@customer.test"
    assert sh.ingest(raw_mail(sender=chloe))["auto_reply"] == "acknowledgement"
    assert sh.ingest(raw_mail(sender=carol))["auto_reply"] == "acknowledgement"
    with fake_smtp(Script(smtputf8=False)) as (script, port):
        use_fake(sh, port)
        sh.json("outbox", "send")
    assert [d.recipients for d in script.delivered] == [[carol]]  # the other one still goes
    rows = {row["to"][0] if isinstance(row["to"], list) else row["to"]: row for row in sh.outbox()}
    assert rows[carol]["status"] == "sent"
    assert rows[chloe]["status"] != "sent"
    assert "SMTPUTF8" in str(rows[chloe])


@pytest.mark.parametrize("local", ["jos\u00e9\u202e", "jo\u200bs\u00e9", "\u2067jos\u00e9"])
def test_an_unwritable_non_ascii_local_part_is_never_written_and_the_reason_is_kept(
    sh: Shell, tmp_path: Path, local: str
) -> None:
    sender = f"{local}-{secrets.token_hex(3)}@customer.test"
    decision = sh.ingest(raw_mail(sender=f"Jos\u00e9 <{sender}>"))
    assert decision["auto_reply"] is None
    assert "fully qualified" in decision["auto_reply_suppressed"]
    body = tmp_path / "body.txt"
    body.write_text("Hello\n")
    ref = decision["work_items"][0]["reference"]
    refused = sh("item", "reply", ref, "--body-file", str(body))
    assert refused.code != 0
    assert sh.outbox() == []
    # with a Reply-To that can be written, the acknowledgement goes there instead
    desk = f"d\u00e9sk-{secrets.token_hex(3)}@customer.test"
    decision = sh.ingest(raw_mail(sender=sender, reply_to=f"{sender}, {desk}"))
    assert decision["auto_reply"] == "acknowledgement"
    with fake_smtp(Script(smtputf8=True)) as (script, port):
        use_fake(sh, port)
        assert sh.json("outbox", "send")["sent"] == 1
    (sent,) = script.delivered
    assert sent.recipients == [desk]
    assert b"=?" not in b"".join(field_lines(head_of(sent), "To"))
