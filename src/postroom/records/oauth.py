"""An OAuth2 sign-in (grant) of a channel or an SMTP server, as storage hands it out: the
client secret and the tokens stay sealed (``*_enc``); only a service holding the
`SecretBox` opens them, and only to refresh or to log in. Datetimes are naive UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class GrantOwner(StrEnum):
    """Whose sign-in it is."""

    CHANNEL = "channel"
    SMTP = "smtp"


@dataclass(frozen=True, slots=True)
class GrantRecord:
    id: int
    owner: GrantOwner
    owner_id: int
    provider: str
    """``microsoft``, ``google`` or ``custom``."""
    tenant: str | None
    token_url: str | None
    """``custom``'s token endpoint (None: the provider's own)."""
    device_url: str | None
    client_id: str
    client_secret_enc: str | None = field(repr=False)
    scopes: tuple[str, ...]
    """Empty: the provider's own."""
    refresh_token_enc: str | None = field(repr=False)
    access_token_enc: str | None = field(repr=False)
    expires_at: datetime | None
    refreshed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GrantSettings:
    """What a person sets of a sign-in (`channel add --oauth2 …`), the secret sealed."""

    provider: str
    client_id: str
    tenant: str | None = None
    token_url: str | None = None
    device_url: str | None = None
    client_secret_enc: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
