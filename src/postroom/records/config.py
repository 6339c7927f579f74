"""Configuration as storage hands it out: channels, SMTP servers, users.

Field names are the column names, so code reading ``channel.name`` or
``server.enabled`` reads a record the same way it read a row. Passwords stay
sealed (``password_enc``): only a service holding the `SecretBox` opens one,
and only to connect. Datetimes are naive UTC, as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """An input channel (a mailbox Postroom polls) with its health and its poll lease."""

    id: int
    name: str
    url: str
    address: str | None
    """The mailbox's own address: mail From it may be sent through the channel's SMTP."""
    password_enc: str | None
    authzid: str | None
    ca_file: str | None
    mechanism: str | None
    interval_s: int
    max_failures: int
    timeout_s: int
    enabled: bool
    disabled_reason: str | None
    failure_count: int
    last_error_class: str | None
    last_error: str | None
    last_error_at: datetime | None
    last_success: datetime | None
    last_poll: datetime | None
    next_poll: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    last_check: dict[str, Any] | None
    """The last connection check's report (`CheckReport.to_json()`)."""
    last_check_ok: bool | None
    smtp_url: str | None
    """Set: the channel sends the mail From its address itself, with its own login."""
    created_at: datetime
    uidl_reuse_seen: bool
    folder: str | None = None
    """IMAP: the folder polled (None: INBOX)."""
    after: str | None = None
    """What a poll does with stored mail: ``delete`` (None), ``keep``, ``move:FOLDER``."""
    oauth_provider: str | None = None
    """Set: the channel logs in with an OAuth2 access token of this provider's sign-in."""
    token_expires: datetime | None = None
    """When the stored access token expires (None: none stored, or no OAuth2)."""


@dataclass(frozen=True, slots=True)
class SmtpServerRecord:
    """A configured outbound SMTP server (`postroom smtp add`)."""

    id: int
    name: str
    url: str
    password_enc: str | None
    authzid: str | None
    ca_file: str | None
    send_as: bool
    """It may send for any From address."""
    is_default: bool
    """The server-wide server, for mail no channel or Send-As server takes."""
    enabled: bool
    timeout_s: int
    last_check: dict[str, Any] | None
    last_check_ok: bool | None
    created_at: datetime
    mechanism: str | None = None
    """``xoauth2`` or ``oauthbearer`` with an OAuth2 sign-in; None: PLAIN or LOGIN."""
    oauth_provider: str | None = None
    """Set: the server is logged in to with an OAuth2 access token of this provider's."""
    token_expires: datetime | None = None
    disabled_reason: str | None = None
    """Why it is off (`services.enabling.BY_A_PERSON` when a person switched it off)."""


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """The server that sends one message: everything needed to open a connection;
    ``password_enc`` still sealed."""

    name: str
    """``smtp:NAME`` for a configured server, ``channel:NAME`` for a channel's own."""
    url: str
    user: str | None
    password_enc: str | None
    authzid: str | None
    ca_file: str | None
    timeout_s: int
    mechanism: str | None = None
    """``xoauth2`` or ``oauthbearer``: log in with the access token of the sign-in below."""
    oauth_owner: str | None = None
    """Whose OAuth2 sign-in gives the access token: ``channel`` or ``smtp`` (None: a
    password)."""
    oauth_owner_id: int | None = None


class Role(StrEnum):
    """What a user may do (`users.role`)."""

    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An agent or an administrator, who can own and work on items."""

    id: int
    name: str
    email: str | None
    role: str
    created_at: datetime
