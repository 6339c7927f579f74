"""What opening a channel's mailbox takes, as plain values, and the port that opens it.

The poll service reads a channel's settings and opens its password (only here, just
before use); which adapter speaks to the mailbox is not its business: `postroom.bootstrap`
passes a `SourceFactory` that picks one by the URL's scheme (POP3 or IMAP). A channel that
logs in with OAuth2 gets a fresh access token as its password from `with_access_tokens`,
each time its mailbox is opened (a poll, an IDLE connection), not once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from postroom.credentials import SecretBox
from postroom.net.connection import MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import After, FolderMark, MailboxSource
from postroom.records.config import ChannelRecord

if TYPE_CHECKING:  # imported when an OAuth2 channel connects: a poll of passwords needs none
    from postroom.services.grants import Grants

_TOKENS = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)


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
    channel_id: int | None = None
    channel_name: str = ""
    """Whose mailbox: with OAuth2, whose sign-in gives the access token."""

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
            channel_id=channel.id,
            channel_name=channel.name,
        )


SourceFactory = Callable[[MailboxAccess], MailboxSource]
"""The mailbox adapter for a mailbox (raises `UserError` for a scheme nothing speaks)."""


def with_access_tokens(grants: Callable[[], Grants], sources: SourceFactory) -> SourceFactory:
    """``sources``, with an OAuth2 channel's password a fresh access token of its sign-in
    (``grants``: the sign-ins, built on first use)
    (fetched as the adapter is made, just before it connects; a rotated refresh token is
    committed first). A revoked or missing sign-in raises `ConnectionFailure`
    ``authentication`` naming the sign-in command: that channel's failure, nobody else's."""

    def source(access: MailboxAccess) -> MailboxSource:
        if access.mechanism in _TOKENS and access.channel_id is not None:
            from postroom.records.oauth import GrantOwner
            from postroom.services.grants import Target

            target = Target(GrantOwner.CHANNEL, access.channel_id, access.channel_name)
            access = replace(access, password=grants().access_token(target).reveal())
        return sources(access)

    return source
