"""Bytes that are not mail: what ingest quarantines instead of handing to the Email Handler.

An empty file, random bytes or a program piped to `postroom ingest` parse (the parser
never refuses) into a message with no header, no sender and no recipient. Handled, such a
message would open a Ticket about nothing and be answered by nobody; it is quarantined
instead, with this reason, where a person sees it (`quarantine list`) and can delete it or,
if it was mail after all, retry it.
"""

from __future__ import annotations

from postroom.domain.mail import ParsedMail

REASON = "not mail: no header block, no sender and no recipient"


class NotMail(Exception):
    """The message is not mail (`REASON`): quarantined, never handled."""

    def __init__(self) -> None:
        super().__init__(REASON)


def not_mail(mail: ParsedMail) -> bool:
    """No header at all, no sender (From or any fallback) and no recipient: nothing in the
    bytes says they are a message from someone to someone."""
    return not mail.headers and mail.from_ is None and not mail.recipients()
