"""What one message's envelope needs of a server, decided before a command is written.

Internationalised mail (RFC 6530) travels only in an SMTPUTF8 transaction (RFC 6531): a
non-ASCII envelope address, or UTF-8 in the header fields (RFC 6532), needs ``MAIL FROM:<…>
SMTPUTF8`` on a server that offers it.  Where the server does not, the address is never
encoded or respelled (an RFC 2047 word in an address misdelivers silently): a recipient that
cannot be written is refused on its own, with its reason, and the others are sent; a sender
or header fields that cannot be written refuse the whole message.

Deciding this up front is what keeps one bad address from costing the connection: a command
``smtplib`` cannot encode raises half-way through a transaction, which used to be taken for a
lost connection.  Pure functions: the server's extensions come in as booleans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from postroom.domain.automatic import address_problem
from postroom.outbound.wire import header_is_8bit, is_8bit
from postroom.ports.sending import RecipientOutcome, RecipientResult

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""A C0 control character or DEL: one character class, linear in the address."""
NO_SMTPUTF8 = "the server does not offer SMTPUTF8 (RFC 6531), which a non-ASCII address needs"
NO_SMTPUTF8_HEADERS = (
    "the message has UTF-8 header fields (RFC 6532) and the server does not offer "
    "SMTPUTF8 (RFC 6531), which they need"
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """The transaction to run for one message, or why it cannot run at all."""

    recipients: tuple[str, ...]
    """The recipients to offer with RCPT TO, in the caller's order."""
    refused: dict[str, RecipientResult]
    """The recipients that cannot be written on this server, each with its reason."""
    parameters: tuple[str, ...]
    """The MAIL FROM parameters (``BODY=8BITMIME``, ``SMTPUTF8``)."""
    utf8: bool
    """Commands are written in UTF-8: an SMTPUTF8 transaction."""
    problem: str | None = None
    """Why no transaction can carry the message (a sender or header fields); None: it can."""


def plan(
    sender: str, recipients: list[str], raw: bytes, *, smtputf8: bool, eightbitmime: bool
) -> Envelope:
    """The envelope of ``raw`` from ``sender`` to ``recipients`` on a server offering (or not)
    SMTPUTF8 and 8BITMIME."""
    headers_8bit = header_is_8bit(raw)
    international = headers_8bit or not sender.isascii() or not all(map(str.isascii, recipients))
    utf8 = international and smtputf8
    parameters: tuple[str, ...] = ()
    if eightbitmime and (utf8 or is_8bit(raw)):
        parameters += ("BODY=8BITMIME",)
    if utf8:
        parameters += ("SMTPUTF8",)
    problem = unwritable(sender, utf8=utf8)
    if problem is not None:
        return Envelope((), {}, parameters, utf8, f"MAIL FROM <{sender}>: {problem}")
    if headers_8bit and not utf8:
        return Envelope((), {}, parameters, utf8, NO_SMTPUTF8_HEADERS)
    refused: dict[str, RecipientResult] = {}
    kept: list[str] = []
    for address in recipients:
        why = unwritable(address, utf8=utf8)
        if why is None:
            kept.append(address)
        else:
            refused[address] = RecipientResult(address, RecipientOutcome.REFUSED, None, why)
    return Envelope(tuple(kept), refused, parameters, utf8)


def unwritable(address: str, *, utf8: bool) -> str | None:
    """Why ``address`` cannot be written in a MAIL or RCPT command, or None when it can.

    An address is written only when the one rule of what Postroom writes accepts it
    (`address_problem`, as for our own sender: qualified or not was the writer's choice),
    so the transport never sends what the message's header fields could not carry.  On top
    of it one rule of the transport alone: anything non-ASCII needs an SMTPUTF8
    transaction, so a server that does not offer it refuses that address.  A control
    character (CR and LF above all, which would end or split the command) and a lone
    surrogate (no UTF-8) are told apart first: `address_problem` refuses them too.
    """
    if _CONTROL.search(address):
        return "contains a control character, which no SMTP command can carry"
    if not address.isascii():
        try:
            address.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode text"
    problem = address_problem(address, qualified=False)
    if problem is not None:
        return problem
    return None if utf8 or address.isascii() else NO_SMTPUTF8
