"""A message Bcc'd to two routed addresses: one Ticket per route, each re-delivery a duplicate.

Real Postfix and Dovecot on loopback (tests/servers/mailstack), SQLite and PostgreSQL. The
sender's client hands Postfix one message for both mailboxes; Dovecot's LMTP, given several
recipients at once, writes no Delivered-To, so each copy shows only To: the customer's team,
and only the mailbox it is fetched from tells which route it was meant for
(`postroom.domain.copies`). A copy of the same message for the same route again, through
SMTP (now with a Delivered-To: one recipient) or dropped into the mailbox, is rule D1.
"""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from postroom.storage.tables import messages
from support.mails import make_mail
from support.polling import Box, Postroom, postroom

__all__ = ["postroom"]

pytestmark = pytest.mark.servers


def routed_mailbox(pr: Postroom, name: str) -> Box:
    box = pr.mailbox(name, route=False)
    pr.ok("route", "add", box.address, "--context", "Acme", "--category", name, "--queue", name)
    return box


def send(pr: Postroom, raw: bytes, *recipients: str) -> None:
    """Through Postfix, as the customer's mail server would: one transaction, every RCPT."""
    with smtplib.SMTP(pr.stack.host, pr.stack.smtp_port, timeout=30) as smtp:
        refused = smtp.sendmail("carol@customer.test", list(recipients), raw)
    assert refused == {}


def rules(pr: Postroom) -> list[str]:
    engine = create_engine(pr.env["POSTROOM_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            q = select(messages.c.rule).order_by(messages.c.id)
            return [str(r) for r in conn.execute(q).scalars()]
    finally:
        engine.dispose()


def tickets(pr: Postroom) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pr("item", "list", "--json").json()
    return found


def poll_until_empty(pr: Postroom, *boxes: Box) -> None:
    for box in boxes:
        assert pr.stack.wait_count(box.address, 1) >= 1
    pr.poll_json()
    for box in boxes:
        assert pr.stack.count(box.address) == 0


def test_bcc_to_two_routed_mailboxes_opens_one_ticket_per_route(postroom: Postroom) -> None:
    one, two = routed_mailbox(postroom, "one"), routed_mailbox(postroom, "two")
    raw = make_mail(to="Team <team@customer.test>", message_id="<bcc.1@customer.test>")
    send(postroom, raw, one.address, two.address)
    poll_until_empty(postroom, one, two)
    found = tickets(postroom)
    assert sorted(t["queue"] for t in found) == ["one", "two"]
    assert {t["state"] for t in found} == {"to-do"}
    assert rules(postroom) == ["N1", "N1"]

    for box in (one, two):  # a re-delivery of either copy: the same route again
        send(postroom, raw, box.address)
        poll_until_empty(postroom, box)
    postroom.stack.deliver(two.address, raw)
    poll_until_empty(postroom, two)
    assert rules(postroom) == ["N1", "N1", "D1", "D1", "D1"]
    assert len(tickets(postroom)) == 2
    assert postroom.counts()["inbound"] == 2


def test_both_copies_in_one_mailbox_in_one_batch(postroom: Postroom) -> None:
    """A catch-all mailbox that receives the copy for each address, each with its own
    Delivered-To: one poll, one batch, still one Ticket per route."""
    desk = postroom.mailbox("desk", route=False)
    sales, billing = f"sales@{postroom.stack.domain}", f"billing@{postroom.stack.domain}"
    for address in (sales, billing):
        postroom.ok(
            "route", "add", address, "--context", "Acme", "--category", "c", "--queue", address
        )
    raw = make_mail(to="Team <team@customer.test>", message_id="<bcc.2@customer.test>")
    for address in (sales, billing, sales):
        postroom.stack.deliver(desk.address, f"Delivered-To: {address}\r\n".encode() + raw)
    poll_until_empty(postroom, desk)
    assert sorted(t["queue"] for t in tickets(postroom)) == [billing, sales]
    assert sorted(rules(postroom)) == ["D1", "N1", "N1"]
    postroom.stack.deliver(desk.address, f"Delivered-To: {billing}\r\n".encode() + raw)
    poll_until_empty(postroom, desk)
    assert len(tickets(postroom)) == 2
    assert rules(postroom)[-1] == "D1"
