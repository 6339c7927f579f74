"""Mailbox adapters: take raw messages and their ids out of POP3 (and later IMAP, Maildir).

Only `source` is the port; everything else is an adapter behind it.
"""

from postroom.mailboxes.pop3 import Pop3MailboxSource
from postroom.mailboxes.pop3_session import Pop3Session
from postroom.mailboxes.source import (
    AuthMechanism,
    MailboxSession,
    MailboxSource,
    MessageInfo,
    MessageTooLarge,
)

__all__ = [
    "AuthMechanism",
    "MailboxSession",
    "MailboxSource",
    "MessageInfo",
    "MessageTooLarge",
    "Pop3MailboxSource",
    "Pop3Session",
]
