"""What opening a channel's mailbox takes, as plain values, and the port that opens it.

The poll service reads a channel's settings and opens its password (only here, just
before use); which adapter speaks to the mailbox is not its business: `postroom.bootstrap`
passes a `SourceFactory` that picks one by the URL's scheme (POP3 or IMAP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from postroom.credentials import SecretBox
from postroom.net.connection import MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import After, FolderMark, MailboxSource
from postroom.records.config import ChannelRecord


@dataclass(frozen=True)
class MailboxAccess:
    """Where a mailbox is and how to log in (the password already opened)."""

    url: MailUrl
    password: str = field(repr=False)
    """Never in a repr: an access may reach a log or a traceback's locals."""
    authzid: str | None
    mechanism: AuthMechanism
    ca_file: Path | None
    timeout: float
    max_message_bytes: int
    """Octets of one message at most: a longer one stays on the server (`MessageTooLarge`)."""
    folder: str = "INBOX"
    """IMAP: the folder polled."""
    after: After = field(default_factory=After)
    """What becomes of a stored message on the server (``--after``)."""
    resume: FolderMark | None = None
    """IMAP keeping mail: how far the last polls read the folder (only newer UIDs listed)."""

    @classmethod
    def of(
        cls, channel: ChannelRecord, secrets: SecretBox, max_message_bytes: int
    ) -> MailboxAccess:
        """A stored channel's mailbox (its password decrypted only here)."""
        url = MailUrl.parse(channel.url)
        password = secrets.open(channel.password_enc).reveal() if channel.password_enc else ""
        return cls(
            url=url,
            password=password,
            authzid=channel.authzid,
            mechanism=AuthMechanism(channel.mechanism or "auto"),
            ca_file=Path(channel.ca_file) if channel.ca_file else None,
            timeout=float(channel.timeout_s),
            max_message_bytes=max_message_bytes,
            folder=channel.folder or "INBOX",
            after=After.parse(channel.after),
        )


SourceFactory = Callable[[MailboxAccess], MailboxSource]
"""The mailbox adapter for a mailbox (raises `UserError` for a scheme nothing speaks)."""
