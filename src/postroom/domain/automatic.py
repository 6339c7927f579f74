"""Recognising automatic mail, which must never receive an automated reply (handler.md §5).

Two autoresponders answering each other fill both mailboxes in minutes; a
reply to a bounce or a mailing list reaches nobody who asked for it.  So
before any acknowledgement or "address not configured" reply, the handler
asks this module whether the message was written by a machine, and records
the answer as a readable reason.

Signals, checked in this order (the first one found is the reason):

1. ``Auto-Submitted`` with any value other than ``no`` (RFC 3834 §5).
2. ``X-Autoreply`` or ``X-Autorespond`` present (common vacation responders).
3. ``Precedence: bulk``, ``junk`` or ``list`` (RFC 3834 §2 advises against
   answering these).
4. ``List-Id`` present (RFC 2919: the message came through a list).
5. A ``multipart/report`` body or a parsed delivery report (RFC 3462/3464).
6. An empty Return-Path: ``Return-Path: <>`` present (RFC 5321 §4.5.5, the
   null reverse-path of bounces).  A missing Return-Path says nothing.
7. A From or Reply-To that is a system mailbox (MAILER-DAEMON, postmaster,
   no-reply and its spellings) or one of this installation's own addresses.
"""

from __future__ import annotations

from postroom.domain.mail import Address, ParsedMail
from postroom.domain.references import base_address

_LIST_PRECEDENCE = frozenset({"bulk", "junk", "list"})

_SYSTEM_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "no-reply",
        "noreply",
        "no_reply",
        "do-not-reply",
        "donotreply",
        "do_not_reply",
    }
)


def automatic_reason(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    """Why ``mail`` counts as automatic mail, or None when a person may have written it.

    ``own_addresses`` are lowercased; plus tags on the sender are ignored when
    comparing, since our own outbound mail may be sent from a plus address.
    """
    auto_submitted = mail.header("Auto-Submitted")
    if auto_submitted is not None:
        # The keyword may carry parameters: "auto-replied; owner-email=...".
        keyword = auto_submitted.split(";", 1)[0].strip().lower()
        if keyword != "no":
            return f"Auto-Submitted: {auto_submitted.strip() or '(empty)'}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = mail.header(name)
        if value is not None:
            return f"{name}: {value.strip()}".rstrip()
    precedence = mail.header("Precedence")
    if precedence is not None and precedence.strip().lower() in _LIST_PRECEDENCE:
        return f"Precedence: {precedence.strip().lower()}"
    list_id = mail.header("List-Id")
    if list_id is not None:
        return f"List-Id: {list_id.strip()}".rstrip()
    if mail.content_type.strip().lower().startswith("multipart/report"):
        return "Content-Type: multipart/report (a delivery or disposition report)"
    if mail.report is not None:
        return "a delivery status report"
    return_path = mail.header("Return-Path")
    if return_path is not None and _is_null_path(return_path):
        return "Return-Path: <> (the null sender of bounces)"
    return _sender_reason(mail, own_addresses)


def _is_null_path(value: str) -> bool:
    return "".join(value.split()) in ("", "<>")


def _sender_reason(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    senders: list[tuple[str, Address]] = []
    if mail.from_ is not None:
        senders.append(("From", mail.from_))
    senders.extend(("Reply-To", a) for a in mail.reply_to)
    for label, sender in senders:
        address = sender.normalized
        local = base_address(address).partition("@")[0]
        if local in _SYSTEM_LOCAL_PARTS:
            return f"{label}: {sender.address} is a system mailbox"
        if address in own_addresses or base_address(address) in own_addresses:
            return f"{label}: {sender.address} is one of our own addresses"
    return None
