"""Mailbox adapters behind `postroom.ports.mailbox`: raw messages and their ids out of POP3
(and later IMAP, Maildir). `postroom.bootstrap` picks one by the channel's URL scheme."""

from postroom.mailboxes.pop3 import Pop3MailboxSource
from postroom.mailboxes.pop3_session import Pop3Session

# Until services/poll.py imports these from their homes (postroom.ports.mailbox, postroom.net.sasl).
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MailboxSession, MailboxSource, MessageInfo, MessageTooLarge

__all__ = [
    "AuthMechanism",
    "MailboxSession",
    "MailboxSource",
    "MessageInfo",
    "MessageTooLarge",
    "Pop3MailboxSource",
    "Pop3Session",
]
