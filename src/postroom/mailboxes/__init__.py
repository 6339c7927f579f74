"""Mailbox adapters behind `postroom.ports.mailbox`: raw messages and their ids out of POP3
(and later IMAP, Maildir). `postroom.bootstrap` picks one by the channel's URL scheme."""

from postroom.mailboxes.pop3 import Pop3MailboxSource
from postroom.mailboxes.pop3_session import Pop3Session

__all__ = ["Pop3MailboxSource", "Pop3Session"]
