"""automatic_reason: which mail is never auto-replied to, and the reason it gives."""

from __future__ import annotations

from dataclasses import replace

import pytest

from postroom.domain.automatic import automatic_reason
from postroom.domain.mail import Address, DeliveryReport, ParsedMail

PERSON = ParsedMail(from_=Address("alice@customer.example"), to=(Address("support@example.com"),))
OWN = frozenset({"support@example.com", "info@example.com"})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"headers": {"auto-submitted": "auto-replied"}}, "Auto-Submitted: auto-replied"),
        ({"headers": {"auto-submitted": "auto-generated"}}, "Auto-Submitted: auto-generated"),
        ({"headers": {"auto-submitted": ""}}, "Auto-Submitted: (empty)"),
        ({"headers": {"x-autoreply": "yes"}}, "X-Autoreply: yes"),
        ({"headers": {"x-autorespond": "on vacation"}}, "X-Autorespond: on vacation"),
        ({"headers": {"precedence": " BULK "}}, "Precedence: bulk"),
        ({"headers": {"precedence": "junk"}}, "Precedence: junk"),
        ({"headers": {"precedence": "list"}}, "Precedence: list"),
        (
            {"headers": {"list-id": "Team <team.lists.example>"}},
            "List-Id: Team <team.lists.example>",
        ),
        ({"content_type": "Multipart/Report"}, "Content-Type: multipart/report"),
        ({"report": DeliveryReport(("<x@y>",))}, "a delivery status report"),
        ({"headers": {"return-path": "<>"}}, "Return-Path: <>"),
        ({"headers": {"return-path": " < > "}}, "Return-Path: <>"),
        (
            {"from_": Address("MAILER-DAEMON@mx.example")},
            "From: MAILER-DAEMON@mx.example is a system",
        ),
        ({"from_": Address("mailer-daemon")}, "From: mailer-daemon is a system"),
        ({"from_": Address("postmaster@mx.example")}, "is a system mailbox"),
        ({"from_": Address("no-reply@shop.example")}, "is a system mailbox"),
        ({"from_": Address("noreply+abc@shop.example")}, "is a system mailbox"),
        ({"from_": Address("Do-Not-Reply@bank.example")}, "is a system mailbox"),
        ({"reply_to": (Address("noreply@shop.example"),)}, "Reply-To: noreply@shop.example"),
        ({"from_": Address("Info@Example.com")}, "one of our own addresses"),
        ({"from_": Address("support+101203-T@example.com")}, "one of our own addresses"),
    ],
)
def test_automatic(changes: dict[str, object], reason: str) -> None:
    found = automatic_reason(replace(PERSON, **changes), OWN)  # type: ignore[arg-type]
    assert found is not None
    assert found.startswith(reason) or reason in found


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"headers": {"auto-submitted": "no"}},
        {"headers": {"auto-submitted": " No "}},
        {"headers": {"precedence": "first-class"}},
        {"headers": {"return-path": "<alice@customer.example>"}},
        {"from_": None},
        {"from_": Address("norep@shop.example")},
        {"content_type": "multipart/mixed"},
    ],
)
def test_person(changes: dict[str, object]) -> None:
    assert automatic_reason(replace(PERSON, **changes), OWN) is None  # type: ignore[arg-type]


def test_missing_return_path_is_not_empty() -> None:
    assert not PERSON.return_path_present
    assert automatic_reason(PERSON, OWN) is None
